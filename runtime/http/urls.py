from django.urls import path

from runtime.http import approvals, images, metrics, resume, views

app_name = "runtime"

urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path(
        "runs/<int:run_id>/steps/<str:node_id>/items/",
        views.run_step_items,
        name="run-step-items",
    ),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/rerun/", views.run_again, {"how": "rerun"}, name="run-rerun"),
    path("runs/<int:run_id>/retry/", views.run_again, {"how": "retry"}, name="run-retry"),
    path("runs/<int:run_id>/edit-input/", views.run_edit_input, name="run-edit-input"),
    path("metrics", metrics.metrics, name="metrics"),
    path("resume/<int:run_id>/<str:node_id>/<str:token>/", resume.resume, name="resume"),
    path("approvals/", approvals.approval_list, name="approval-list"),
    path("approvals/<int:approval_id>/decide/", approvals.approval_decide, name="approval-decide"),
    path("approvals/email/<str:token>/", approvals.approval_email, name="approval-email"),
    path("images/", images.image_list, name="image-list"),
    path("images/register/", images.image_register, name="image-register"),
    path("images/upload/", images.image_upload, name="image-upload"),
]
