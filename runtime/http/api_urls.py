from django.urls import path

from runtime.http import (
    api_approvals,
    api_connections,
    api_editor,
    api_images,
    api_replays,
    api_runs,
    api_secrets,
    api_triggers,
)

urlpatterns = [
    path("flows/<int:flow_id>/runs/", api_runs.FlowRunStart.as_view(), name="api-flow-runs"),
    path("runs/", api_runs.RunList.as_view(), name="api-runs"),
    path("flows/<int:flow_id>/replays/", api_replays.FlowReplays.as_view(), name="api-replays"),
    path("replays/<int:batch_id>/", api_replays.ReplayDetail.as_view(), name="api-replay"),
    path("runs/<int:run_id>/test/", api_replays.RunSaveAsTest.as_view(), name="api-run-test"),
    path("flows/<int:flow_id>/tests/", api_replays.FlowTests.as_view(), name="api-flow-tests"),
    path("tests/<int:test_id>/", api_replays.FlowTestDetail.as_view(), name="api-flow-test"),
    path(
        "flows/<int:flow_id>/versions/<int:number>/tests/",
        api_replays.VersionTests.as_view(),
        name="api-version-tests",
    ),
    path("runs/<int:run_id>/", api_runs.RunDetail.as_view(), name="api-run"),
    path("runs/<int:run_id>/cancel/", api_runs.RunCancel.as_view(), name="api-run-cancel"),
    path("runs/<int:run_id>/rerun/", api_runs.RunRerun.as_view(), name="api-run-rerun"),
    path("runs/<int:run_id>/retry/", api_runs.RunRetry.as_view(), name="api-run-retry"),
    path(
        "runs/<int:run_id>/steps/<str:node_id>/items/",
        api_runs.StepItems.as_view(),
        name="api-run-step-items",
    ),
    path(
        "flows/<int:flow_id>/triggers/",
        api_triggers.FlowTriggerList.as_view(),
        name="api-flow-triggers",
    ),
    path(
        "flows/<int:flow_id>/triggers/<str:node_id>/rotate/",
        api_triggers.WebhookRotate.as_view(),
        name="api-webhook-rotate",
    ),
    path(
        "flows/<int:flow_id>/triggers/<str:node_id>/listen/",
        api_triggers.WebhookListen.as_view(),
        name="api-webhook-listen",
    ),
    path("flows/<int:flow_id>/preview/", api_editor.TemplatePreview.as_view(), name="api-preview"),
    path("flows/<int:flow_id>/check-code/", api_editor.CodeCheck.as_view(), name="api-check-code"),
    path("cron/preview/", api_triggers.CronPreview.as_view(), name="api-cron-preview"),
    path("approvals/", api_approvals.ApprovalList.as_view(), name="api-approvals"),
    path(
        "approvals/<int:approval_id>/decide/",
        api_approvals.ApprovalDecide.as_view(),
        name="api-approval-decide",
    ),
    path("events/", api_triggers.EventEmit.as_view(), name="api-events"),
    path("secrets/", api_secrets.SecretList.as_view(), name="api-secrets"),
    path("secrets/<int:secret_id>/", api_secrets.SecretDetail.as_view(), name="api-secret"),
    path("images/", api_images.ImageList.as_view(), name="api-images"),
    path("images/upload/", api_images.ImageUpload.as_view(), name="api-images-upload"),
    path("images/<int:image_id>/", api_images.ImageDetail.as_view(), name="api-image"),
    path("connections/", api_connections.ConnectionList.as_view(), name="api-connections"),
    path(
        "connections/test/",
        api_connections.ConnectionTestUnsaved.as_view(),
        name="api-connections-test",
    ),
    path(
        "connections/<int:connection_id>/",
        api_connections.ConnectionDetail.as_view(),
        name="api-connection",
    ),
    path(
        "connections/<int:connection_id>/test/",
        api_connections.ConnectionTest.as_view(),
        name="api-connection-test",
    ),
    path(
        "flows/<int:flow_id>/dead-letters/",
        api_connections.FlowDeadLetters.as_view(),
        name="api-flow-dead-letters",
    ),
    path(
        "flows/<int:flow_id>/queue-consumers/",
        api_connections.FlowQueueConsumers.as_view(),
        name="api-flow-queue-consumers",
    ),
]
