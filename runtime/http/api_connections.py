"""REST API for connections (admins manage them, members list their names and kinds),
testing one, and what queue triggers report: their consumers' state and dead letters."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access
from designer.api_schema import ErrorSerializer
from designer.models import Workspace
from designer.params import id_param
from runtime.http import serializers, shapes
from runtime.http.api_runs import NewestFirst
from runtime.models import Connection, ConnectionKind
from runtime.resources.connections import selectors, services
from runtime.runs import RunRefused


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


def _shown(request: Request, connections: list[Connection]) -> list[dict[str, Any]]:
    """Admins of a connection's workspace see its settings; other members its name."""
    admin_of = selectors.admin_workspace_ids(user=_user(request))
    return [
        (
            serializers.ConnectionSerializer
            if connection.workspace_id in admin_of
            else serializers.ConnectionSummarySerializer
        )(connection).data
        for connection in connections
    ]


def _admin_workspace(request: Request, data: dict[str, Any]) -> Workspace:
    """The workspace ``data`` names (taken out of it), where the user must be an admin."""
    if "workspace" not in data:
        raise RunRefused("Say which workspace the connection is for.", field="workspace")
    return selectors.workspace_get_for_connection_admin(
        user=_user(request), workspace_id=data.pop("workspace")
    )


def _given(request: Request, *, partial: bool = True) -> dict[str, Any]:
    given = serializers.ConnectionWriteSerializer(data=request.data, partial=partial)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)


class ConnectionList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("workspace", int, description="Only this workspace's."),
            OpenApiParameter("kind", str, enum=ConnectionKind.values),
        ],
        responses=shapes.ConnectionShownSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        workspace = id_param(request.query_params, "workspace")
        kind = request.query_params.get("kind", "")
        if kind and kind not in ConnectionKind.values:
            raise RunRefused(f"kind is one of: {', '.join(ConnectionKind.values)}.", field="kind")
        connections = selectors.connection_list_for_user(
            user=_user(request), workspace_id=workspace, kind=kind
        )
        return Response(_shown(request, list(connections)))

    @extend_schema(
        request=serializers.ConnectionWriteSerializer,
        responses={201: serializers.ConnectionSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _given(request, partial=False)
        workspace = _admin_workspace(request, data)
        connection = services.connection_create(workspace=workspace, user=_user(request), data=data)
        return Response(
            serializers.ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED
        )


class ConnectionDetail(APIView):
    @extend_schema(responses=shapes.ConnectionShownSerializer)
    def get(self, request: Request, connection_id: int) -> Response:
        connection = selectors.connection_get_for_user(
            user=_user(request), connection_id=connection_id
        )
        return Response(_shown(request, [connection])[0])

    @extend_schema(
        request=serializers.ConnectionWriteSerializer, responses=serializers.ConnectionSerializer
    )
    def patch(self, request: Request, connection_id: int) -> Response:
        connection = selectors.connection_get_for_user(
            user=_user(request), connection_id=connection_id, admin=True
        )
        data = _given(request)
        if "workspace" in data and data["workspace"] != connection.workspace_id:
            raise RunRefused("A connection cannot move to another workspace.", field="workspace")
        data.pop("workspace", None)
        connection = services.connection_update(connection=connection, data=data)
        return Response(serializers.ConnectionSerializer(connection).data)

    @extend_schema(responses={204: None, 409: ErrorSerializer})
    def delete(self, request: Request, connection_id: int) -> Response:
        connection = selectors.connection_get_for_user(
            user=_user(request), connection_id=connection_id, admin=True
        )
        try:
            services.connection_delete(connection=connection)
        except services.ConnectionInUse as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionTest(APIView):
    """Connect with the saved settings, overridden by any given in the body (a form being
    edited); 200 either way, with ``ok`` and the server's own message."""

    @extend_schema(
        request=serializers.ConnectionWriteSerializer,
        responses=serializers.ConnectionTestResultSerializer,
    )
    def post(self, request: Request, connection_id: int) -> Response:
        connection = selectors.connection_get_for_user(
            user=_user(request), connection_id=connection_id, admin=True
        )
        data = _given(request)
        data.pop("workspace", None)
        params = services.connection_params_for_test(
            connection=connection, workspace=connection.workspace, data=data
        )
        return Response(services.connection_test(params=params))


class ConnectionTestUnsaved(APIView):
    """Test settings before saving them (``workspace`` says whose admin you are)."""

    @extend_schema(
        operation_id="connections_test_unsaved",
        request=serializers.ConnectionWriteSerializer,
        responses=serializers.ConnectionTestResultSerializer,
    )
    def post(self, request: Request) -> Response:
        data = _given(request, partial=False)
        workspace = _admin_workspace(request, data)
        for field in ("name", "kind", "host"):
            data.setdefault(field, "test" if field == "name" else "")
        params = services.connection_params_for_test(
            connection=None, workspace=workspace, data=data
        )
        return Response(services.connection_test(params=params))


class FlowDeadLetters(generics.ListAPIView):
    """Messages the flow's queue triggers received but could not start a run with."""

    serializer_class = serializers.QueueDeadLetterSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        flow = access.flow_get_for_user(user=_user(self.request), flow_id=self.kwargs["flow_id"])
        return selectors.dead_letter_list(flow=flow)


class FlowQueueConsumers(APIView):
    @extend_schema(responses=serializers.QueueSubscriptionSerializer(many=True))
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        subscriptions = selectors.queue_subscription_list(flow=flow)
        return Response(serializers.QueueSubscriptionSerializer(subscriptions, many=True).data)
