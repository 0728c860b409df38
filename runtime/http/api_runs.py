"""REST API for runs. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access
from designer import selectors as flows
from designer.params import id_param, positive_int
from runtime import disclosure, runs, selectors
from runtime.engine.status import RunStatus
from runtime.http import items, serializers
from runtime.triggers import samples


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


def _detail(request: Request, run: Any) -> dict[str, Any]:
    """The run with its steps, as this user may see it (runtime.disclosure)."""
    context = {
        "reveal_in": disclosure.revealing_workspaces(user=_user(request)),
        "family": selectors.run_family_for_user(user=_user(request), run=run),
    }
    return dict(serializers.RunDetailSerializer(run, context=context).data)


class NewestFirst(CursorPagination):
    """Cursor pages: no COUNT(*), stable while new runs arrive."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF trusts the position inside the cursor: a forged "p=abc" would reach the id
        # filter and fail there (a 500). Positions here are always run ids.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not positive_int(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class FlowRunStart(APIView):
    @extend_schema(
        request=serializers.RunStartSerializer,
        responses={201: serializers.RunDetailSerializer},
        description="Start a run with input as event.trigger. With test=true the input is a "
        "sample of what the trigger delivers (a webhook: {method, query, headers, body}), "
        "completed as a live firing would complete it.",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = serializers.RunStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        number = data.get("version")
        version = (
            flows.flow_version_get(flow=flow, number=number)
            if number
            else flow.live_version or flows.flow_version_latest(flow=flow)
        )
        if version is None:
            raise runs.RunRefused("This flow has no saved version to run.", field="version")
        trigger, kind, payload = data.get("trigger"), "manual", data["input"]
        if data["test"]:
            # A test stands in for its trigger: the input is what that trigger would
            # deliver live with the sample (a webhook's request, a schedule's firing...).
            trigger, kind, payload = samples.test_run_input(
                flow=flow, version=version, trigger_node=trigger, sample=payload
            )
        run = runs.run_start(
            flow=flow,
            version=version,
            payload=payload,
            trigger_node=trigger,
            trigger_kind=kind,
            started_by=_user(request),
            origin="API",
            is_test=data["test"],
        )
        return Response(_detail(request, run), status=status.HTTP_201_CREATED)


class RunList(generics.ListAPIView):
    serializer_class = serializers.RunSerializer
    pagination_class = NewestFirst

    @extend_schema(
        parameters=[
            OpenApiParameter("flow", int),
            OpenApiParameter("status", str, enum=RunStatus.values),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        reveal_in = disclosure.revealing_workspaces(user=_user(self.request))
        return super().get_serializer_context() | {"reveal_in": reveal_in}

    def get_queryset(self) -> Any:
        params = self.request.query_params
        status = params.get("status") or None
        if status is not None and status not in RunStatus.values:
            raise ValidationError({"status": [f"status is one of {', '.join(RunStatus.values)}."]})
        return selectors.run_list_for_user(
            user=_user(self.request), flow_id=id_param(params, "flow"), status=status
        )


class RunDetail(APIView):
    @extend_schema(responses=serializers.RunDetailSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_user(user=_user(request), run_id=run_id)
        return Response(_detail(request, run))


class RunCancel(APIView):
    @extend_schema(request=None, responses=serializers.RunDetailSerializer)
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_user(user=_user(request), run_id=run_id, write=True)
        run = runs.run_cancel(run=run, user=_user(request))
        return Response(_detail(request, run))


class RunRerun(APIView):
    @extend_schema(
        request=serializers.RunAgainSerializer,
        responses={201: serializers.RunDetailSerializer},
        description="Start again from the trigger with the same input, or an "
        "edited one (input), on the run's version or the live one.",
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_user(user=_user(request), run_id=run_id, write=True)
        given = serializers.RunAgainSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        new = runs.run_rerun(
            run=run,
            user=_user(request),
            on_live=given.validated_data["version"] == "live",
            payload=given.validated_data.get("input"),
        )
        return Response(_detail(request, new), status=status.HTTP_201_CREATED)


class RunRetry(APIView):
    @extend_schema(
        request=serializers.RunAgainSerializer,
        responses={201: serializers.RunDetailSerializer},
        description="Retry from the failed step, keeping the outputs of the steps that succeeded.",
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_user(user=_user(request), run_id=run_id, write=True)
        given = serializers.RunAgainSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        new = runs.run_retry(
            run=run, user=_user(request), on_live=given.validated_data["version"] == "live"
        )
        return Response(_detail(request, new), status=status.HTTP_201_CREATED)


def items_query(params: Any) -> tuple[int, str]:
    """``page`` (from 1) and ``status`` ("" for all) of an items list; 400 naming the field."""
    raw = params.get("page") or "1"
    page = positive_int(raw)
    if page is None:
        raise ValidationError({"page": ["page is a whole number from 1."]})
    status = params.get("status") or ""
    if status and status not in RunStatus.values:
        raise ValidationError({"status": [f"status is one of {', '.join(RunStatus.values)}."]})
    return page, status


class StepItems(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="From 1; 50 items a page."),
            OpenApiParameter("status", str, enum=RunStatus.values),
        ],
        responses=serializers.StepItemsSerializer,
        description="The item runs of a for-each step (its latest round), in item order, "
        "with their counts by status and the step's progress.",
    )
    def get(self, request: Request, run_id: int, node_id: str) -> Response:
        page, status = items_query(request.query_params)
        step = selectors.step_get_for_user(user=_user(request), run_id=run_id, node_id=node_id)
        found = selectors.step_items(step=step, status=status, page=page)
        reveal = disclosure.reveals(user=_user(request), workspace=step.run.flow.workspace)
        body = {
            "node_id": step.node_id,
            "progress": items.step_progress(step),
            "counts": found.counts,
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "page_size": selectors.ITEMS_PAGE,
            "results": items.item_rows(found, reveal=reveal),
        }
        return Response(serializers.StepItemsSerializer(body).data)
