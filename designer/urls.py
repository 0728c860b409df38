from django.urls import path

from designer import views

app_name = "designer"

urlpatterns = [
    path("", views.flow_list, name="flow-list"),
    path("flows/new/", views.flow_create, name="flow-create"),
    path("flows/<int:flow_id>/", views.flow_detail, name="flow-detail"),
    path("flows/<int:flow_id>/archive/", views.flow_archive, name="flow-archive"),
    path("flows/<int:flow_id>/versions/", views.flow_versions, name="flow-versions"),
    path("flows/<int:flow_id>/versions/diff/", views.version_diff, name="version-diff"),
    path(
        "flows/<int:flow_id>/versions/<int:number>/publish/",
        views.version_publish,
        name="version-publish",
    ),
    path(
        "flows/<int:flow_id>/versions/<int:number>/tests/",
        views.version_tests,
        name="version-tests",
    ),
]
