"""REST API for approvals (runtime.steps.flow_approval): what waits for the caller's
decision, and deciding. Thin: a selector, the service (runtime.approvals)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer.api_schema import ErrorSerializer
from runtime import approvals, selectors
from runtime.models import Suspension


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


class ApprovalFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    # Declared fields named like Serializer attributes: the metaclass takes declared fields
    # off the class, so only the type checker sees a clash (as designer.api_schema).
    label = serializers.CharField()  # type: ignore[assignment]
    type = serializers.ChoiceField(choices=["text", "number", "boolean"])
    required = serializers.BooleanField()  # type: ignore[assignment]


class ApprovalSerializer(serializers.Serializer):
    """An open approval as its approver sees it: the run's trigger input is shown as any
    viewer of the run sees it (runtime.disclosure hides only what steps derived from
    secrets, and the message may not use any)."""

    id = serializers.IntegerField(source="pk")
    flow = serializers.IntegerField(source="run.flow_id")
    flow_name = serializers.CharField(source="run.flow.name")
    run = serializers.IntegerField(source="run_id")
    node_id = serializers.CharField(source="step.node_id")
    name = serializers.CharField(source="details.name", default="")
    message = serializers.CharField(source="details.message", default="")
    fields = ApprovalFieldSerializer(source="details.fields", many=True, default=list)  # type: ignore[assignment]  # see above
    input = serializers.JSONField(source="run.input")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(approvals.DECISIONS))
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    fields = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)  # type: ignore[assignment]  # see above


class DecisionSerializer(serializers.Serializer):
    """What the step outputs: decision, by, at, fields, comment."""

    decision = serializers.CharField()
    by = serializers.DictField(child=serializers.CharField(allow_blank=True))
    at = serializers.DateTimeField()
    fields = serializers.DictField(child=serializers.JSONField())  # type: ignore[assignment]  # see above
    comment = serializers.CharField(allow_blank=True)


class ApprovalList(APIView):
    @extend_schema(
        responses=ApprovalSerializer(many=True),
        description="The open approvals the caller may decide (by role or by name), newest first.",
    )
    def get(self, request: Request) -> Response:
        waiting: list[Suspension] = selectors.approval_list_for_user(user=_user(request))
        return Response(ApprovalSerializer(waiting, many=True).data)


class ApprovalDecide(APIView):
    @extend_schema(
        request=DecideSerializer,
        responses={200: DecisionSerializer, 409: ErrorSerializer},
        description="Approve or reject, with the step's form fields; 409 when it was "
        "decided already, timed out or its run ended.",
    )
    def post(self, request: Request, approval_id: int) -> Response:
        suspension = selectors.approval_get_for_user(user=_user(request), approval_id=approval_id)
        given = DecideSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data: dict[str, Any] = given.validated_data
        try:
            decided = approvals.approval_decide(
                suspension=suspension,
                decision=data["decision"],
                fields=data["fields"],
                comment=data["comment"],
                user=_user(request),
            )
        except approvals.ApprovalRefused as exc:
            errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
            return Response({"detail": str(exc), "errors": errors}, status=exc.status)
        return Response(DecisionSerializer(decided).data)
