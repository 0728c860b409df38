"""REST API for triggers: webhook URLs (rotate, listen for a test event), cron previews,
and platform events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access
from designer import selectors as flows
from designer.api_schema import ErrorSerializer
from designer.models import Role
from runtime.engine import graphs
from runtime.http import shapes
from runtime.runs import RunRefused
from runtime.triggers import events
from runtime.triggers.cron.kind import next_fire_times, schedule_problem, zone
from runtime.triggers.webhook import kind as webhook


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


def _public_base(request: Request) -> str:
    """Where callers reach this server: TRIBUTARY_PUBLIC_URL when set, else the address
    this request came to (so `serve --port 8020` gives :8020 URLs). Only shown to the
    signed-in editor, never used to decide anything; Django has already checked the Host
    header against ALLOWED_HOSTS."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def _webhook_node(flow: Any, node_id: str) -> str:
    """Refuse a node that is not a webhook trigger of the flow's live or latest version."""
    for version in (flow.live_version, flows.flow_version_latest(flow=flow)):
        node = graphs.graph_of(version).nodes.get(node_id) if version else None
        if node is not None and node.type == webhook.KIND.type:
            return node_id
    raise RunRefused(f"{node_id!r} is not a webhook trigger of this flow.", field="node_id")


class FlowTriggerList(APIView):
    @extend_schema(
        description="The flow's trigger nodes (live version, else latest) with "
        "their webhook URLs and whether they are active.",
        responses=shapes.TriggerSerializer(many=True),
    )
    def get(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        version = flow.live_version or flows.flow_version_latest(flow=flow)
        if version is None:
            return Response([])
        graph = graphs.graph_of(version)
        active = flow.live_version_id == version.pk and flow.archived_at is None
        triggers = []
        for node in graph.nodes.values():
            if not node.type.startswith("trigger."):
                continue
            item: dict[str, Any] = {"node_id": node.id, "type": node.type, "active": active}
            if node.type == webhook.KIND.type:
                item["url"] = webhook.endpoint_url(
                    webhook.endpoint_for(flow, node.id), base=_public_base(request)
                )
            triggers.append(item)
        return Response(triggers)


class WebhookRotate(APIView):
    @extend_schema(
        request=None,
        responses=shapes.WebhookUrlSerializer,
        description="A new URL; the old one stops working at once.",
    )
    def post(self, request: Request, flow_id: int, node_id: str) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        endpoint = webhook.endpoint_for(flow, _webhook_node(flow, node_id))
        webhook.endpoint_rotate(endpoint)
        return Response(
            {"node_id": node_id, "url": webhook.endpoint_url(endpoint, base=_public_base(request))}
        )


class WebhookListen(APIView):
    @extend_schema(
        request=None,
        responses={201: shapes.WebhookListenSerializer},
        description="Keep the next request to this webhook (for "
        "5 minutes) as a test event instead of starting a run.",
    )
    def post(self, request: Request, flow_id: int, node_id: str) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        endpoint = webhook.endpoint_for(flow, _webhook_node(flow, node_id))
        capture = webhook.listen_start(endpoint)
        return Response(
            {
                "status": "waiting",
                "url": webhook.endpoint_url(endpoint, base=_public_base(request)),
                "expires_at": capture.expires_at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={204: None},
        description="Stop listening: the next request starts a run.",
    )
    def delete(self, request: Request, flow_id: int, node_id: str) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        webhook.listen_stop(flow=flow, node_id=_webhook_node(flow, node_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: shapes.WebhookListenSerializer, 400: ErrorSerializer})
    def get(self, request: Request, flow_id: int, node_id: str) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id)
        capture = webhook.listen_status(flow=flow, node_id=_webhook_node(flow, node_id))
        if capture is None:
            return Response({"status": "idle", "payload": None})
        if capture.captured_at is not None:
            return Response(
                {
                    "status": "captured",
                    "payload": capture.payload,
                    "captured_at": capture.captured_at,
                }
            )
        state = "waiting" if capture.expires_at > timezone.now() else "expired"
        return Response({"status": state, "payload": None, "expires_at": capture.expires_at})


class CronPreview(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("expression", str, required=True),
            OpenApiParameter("timezone", str),
        ],
        responses=shapes.CronPreviewSerializer,
    )
    def get(self, request: Request) -> Response:
        expression = request.query_params.get("expression", "")[:200]
        zone_name = request.query_params.get("timezone", "")[:64]
        problem = schedule_problem(expression, zone_name)
        if problem:
            field, message = problem
            return Response(
                {"detail": message, "errors": [{"field": field, "message": message}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        times: list[datetime] = next_fire_times(expression, zone_name, after=timezone.now())
        place = zone(zone_name)
        return Response({"next": [moment.astimezone(place).isoformat() for moment in times]})


class EventEmitSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=200)
    payload = serializers.JSONField(required=False, default=dict)


class EventEmit(APIView):
    @extend_schema(
        request=EventEmitSerializer,
        responses={202: shapes.EventEmittedSerializer},
        description="Deliver a platform event to "
        "every live flow (in your workspaces) whose event trigger matches.",
    )
    def post(self, request: Request) -> Response:
        given = EventEmitSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = _user(request)
        runs = events.emit(
            given.validated_data["type"],
            given.validated_data["payload"],
            workspaces=list(access.workspace_list_for_user(user=user, min_role=Role.EDITOR)),
            emitted_by=user,
        )
        return Response(
            {
                "runs": [
                    {"run_id": run.pk, "flow_id": run.flow_id, "flow": run.flow.name}
                    for run in runs
                ]
            },
            status=status.HTTP_202_ACCEPTED,
        )
