"""REST API for flows and versions. Each view parses input, calls one selector or service,
and renders the result; permissions live in the selectors."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access, selectors, serializers, services
from designer.diff import graph_diff
from designer.models import Flow
from designer.params import id_param, search_param
from runtime.services import step_catalog


def _user(request: Request) -> Any:
    return request.user


class WorkspaceList(APIView):
    @extend_schema(responses=serializers.WorkspaceSerializer(many=True))
    def get(self, request: Request) -> Response:
        workspaces = access.workspace_list_for_user(user=_user(request))
        roles = access.roles_for_user(user=_user(request))
        data = serializers.WorkspaceSerializer(workspaces, many=True, context={"roles": roles})
        return Response(data.data)


class FlowList(generics.ListAPIView):
    serializer_class = serializers.FlowSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Search in names and descriptions"),
            OpenApiParameter("archived", bool),
            OpenApiParameter("workspace", int),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        return access.flow_list_for_user(
            user=_user(self.request),
            search=search_param(params),
            archived=params.get("archived") in {"1", "true", "yes"},
            workspace_id=id_param(params, "workspace"),
        )

    @extend_schema(
        request=serializers.FlowCreateSerializer, responses={201: serializers.FlowSerializer}
    )
    def post(self, request: Request) -> Response:
        given = serializers.FlowCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        workspace = services.workspace_for_new_flow(
            user=_user(request), workspace_id=data.get("workspace")
        )
        flow = services.flow_create(
            user=_user(request),
            workspace=workspace,
            name=data["name"],
            description=data.get("description", ""),
            graph=data.get("graph"),
            message=data.get("message", ""),
        )
        return Response(serializers.FlowSerializer(flow).data, status=status.HTTP_201_CREATED)


class FlowDetail(APIView):
    @extend_schema(responses=serializers.FlowSerializer)
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        return Response(serializers.FlowSerializer(flow).data)

    @extend_schema(request=serializers.FlowUpdateSerializer, responses=serializers.FlowSerializer)
    def patch(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = serializers.FlowUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        flow = services.flow_update(flow=flow, user=_user(request), **given.validated_data)
        return Response(serializers.FlowSerializer(flow).data)

    @extend_schema(
        description="Archive the flow: its triggers stop; history stays.", responses={204: None}
    )
    def delete(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        services.flow_archive(flow=flow, user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FlowRestore(APIView):
    @extend_schema(request=None, responses=serializers.FlowSerializer)
    def post(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        flow = services.flow_restore(flow=flow, user=_user(request))
        return Response(serializers.FlowSerializer(flow).data)


class VersionList(APIView):
    @extend_schema(responses=serializers.VersionSerializer(many=True))
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        versions = selectors.flow_version_list(flow=flow)
        context = {"live_version_id": flow.live_version_id}
        return Response(serializers.VersionSerializer(versions, many=True, context=context).data)

    @extend_schema(
        request=serializers.VersionCreateSerializer,
        responses={
            201: serializers.VersionDetailSerializer,
            409: serializers.VersionConflictSerializer,
        },
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = serializers.VersionCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        version = services.flow_version_save(flow=flow, user=_user(request), **given.validated_data)
        data = serializers.VersionDetailSerializer(
            version, context={"live_version_id": flow.live_version_id}
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


class VersionDetail(APIView):
    @extend_schema(responses=serializers.VersionDetailSerializer)
    def get(self, request: Request, flow_id: int, number: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        version = selectors.flow_version_get(flow=flow, number=number)
        context = {"live_version_id": flow.live_version_id}
        return Response(serializers.VersionDetailSerializer(version, context=context).data)


class VersionDiff(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "against", int, required=True, description="The version to compare with"
            )
        ],
        responses=serializers.VERSION_DIFF,
    )
    def get(self, request: Request, flow_id: int, number: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        against = id_param(request.query_params, "against")
        if against is None:
            return Response(
                {
                    "detail": "Say which version to compare with: ?against=<number>.",
                    "errors": [{"field": "against", "message": "A version number is required."}],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        old = selectors.flow_version_get(flow=flow, number=against)
        new = selectors.flow_version_get(flow=flow, number=number)
        return Response({"from": old.number, "to": new.number, **graph_diff(old.graph, new.graph)})


class FlowPublish(APIView):
    @extend_schema(request=serializers.PublishSerializer, responses=serializers.FlowEventSerializer)
    def post(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = serializers.PublishSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        event = services.flow_publish(
            flow=flow,
            user=_user(request),
            number=given.validated_data["version"],
            override=given.validated_data.get("override_tests", ""),
        )
        return Response(serializers.FlowEventSerializer(event).data)


class FlowEventList(generics.ListAPIView):
    serializer_class = serializers.FlowEventSerializer

    def get_queryset(self) -> Any:
        flow = access.flow_get_for_user(user=_user(self.request), flow_id=self.kwargs["flow_id"])
        return selectors.flow_event_list(flow=flow)


class FlowExport(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="Default: live, else latest")],
        responses=serializers.FlowExportSerializer,
    )
    def get(self, request: Request, flow_id: int) -> HttpResponse:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        number = id_param(request.query_params, "version")
        version = (
            selectors.flow_version_get(flow=flow, number=number)
            if number is not None
            else flow.live_version or selectors.flow_version_latest(flow=flow)
        )
        if version is None:
            return Response(
                {"detail": "This flow has no saved version to export yet."},
                status=status.HTTP_404_NOT_FOUND,
            )
        response = Response(services.flow_export(flow=flow, version=version))
        filename = f"{_slug(flow)}-v{version.number}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class FlowImport(APIView):
    @extend_schema(
        request=serializers.FlowImportSerializer,
        parameters=[
            OpenApiParameter(
                "workspace", int, description="Needed when you belong to several workspaces"
            )
        ],
        responses={201: serializers.FlowSerializer},
    )
    def post(self, request: Request) -> Response:
        workspace = services.workspace_for_new_flow(
            user=_user(request), workspace_id=id_param(request.query_params, "workspace")
        )
        flow = services.flow_import(user=_user(request), workspace=workspace, data=request.data)
        return Response(serializers.FlowSerializer(flow).data, status=status.HTTP_201_CREATED)


class StepTypeList(APIView):
    @extend_schema(responses=serializers.StepTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([kind.describe() for kind in step_catalog().values()])


def _slug(flow: Flow) -> str:
    return slugify(flow.name) or f"flow-{flow.pk}"
