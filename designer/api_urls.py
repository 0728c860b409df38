from django.urls import path

from designer import api

urlpatterns = [
    path("workspaces/", api.WorkspaceList.as_view(), name="api-workspaces"),
    path("flows/", api.FlowList.as_view(), name="api-flows"),
    path("flows/import/", api.FlowImport.as_view(), name="api-flow-import"),
    path("flows/<int:flow_id>/", api.FlowDetail.as_view(), name="api-flow"),
    path("flows/<int:flow_id>/restore/", api.FlowRestore.as_view(), name="api-flow-restore"),
    path("flows/<int:flow_id>/publish/", api.FlowPublish.as_view(), name="api-flow-publish"),
    path("flows/<int:flow_id>/events/", api.FlowEventList.as_view(), name="api-flow-events"),
    path("flows/<int:flow_id>/export/", api.FlowExport.as_view(), name="api-flow-export"),
    path("flows/<int:flow_id>/versions/", api.VersionList.as_view(), name="api-versions"),
    path(
        "flows/<int:flow_id>/versions/<int:number>/",
        api.VersionDetail.as_view(),
        name="api-version",
    ),
    path(
        "flows/<int:flow_id>/versions/<int:number>/diff/",
        api.VersionDiff.as_view(),
        name="api-version-diff",
    ),
    path("step-types/", api.StepTypeList.as_view(), name="api-step-types"),
]
