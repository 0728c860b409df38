"""What the designer asks while the user edits: a template's value against the test sample,
and where code does not compile. Editors only (a viewer cannot edit, so gets 403; an
outsider 404), bounded inputs, nothing stored, nothing run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from designer import access
from designer.graph import json_problem, text_problem
from runtime.kinds.preview import MAX_TEMPLATE_CHARS, template_preview
from runtime.steps import code_javascript, code_python
from runtime.steps.code_support import MAX_SOURCE_CHARS, CodeProblem

CHECKERS: dict[str, Callable[[str], list[CodeProblem]]] = {
    "python": code_python.code_problems,
    "javascript": code_javascript.code_problems,
}


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]  # IsAuthenticated ran first


def _storable_text(value: str) -> str:
    # A lone surrogate survives JSON parsing but not encoding for Node's stdin or a response.
    problem = text_problem(value)
    if problem:
        raise serializers.ValidationError(f"The text holds {problem}.")
    return value


def _bounded_json(value: Any, what: str) -> Any:
    problem = json_problem(value, what=what, max_depth=200)
    if problem:
        raise serializers.ValidationError(problem)
    size = len(json.dumps(value, separators=(",", ":")))
    if size > settings.TRIBUTARY_MAX_OUTPUT_BYTES:
        limit = settings.TRIBUTARY_MAX_OUTPUT_BYTES
        raise serializers.ValidationError(f"{what} is {size:,} bytes; the limit is {limit:,}.")
    return value


class PreviewSerializer(serializers.Serializer):
    template = serializers.CharField(
        max_length=MAX_TEMPLATE_CHARS, allow_blank=True, trim_whitespace=False
    )
    mode = serializers.ChoiceField(["text", "html", "expression"], default="text")
    trigger = serializers.JSONField(required=False, default=dict)
    steps = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)

    def validate_template(self, value: str) -> str:
        return _storable_text(value)

    def validate_trigger(self, value: Any) -> Any:
        return _bounded_json(value, "The sample")

    def validate_steps(self, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, "The step outputs")


class CodeCheckSerializer(serializers.Serializer):
    language = serializers.ChoiceField(sorted(CHECKERS))
    code = serializers.CharField(
        max_length=MAX_SOURCE_CHARS, allow_blank=True, trim_whitespace=False
    )

    def validate_code(self, value: str) -> str:
        return _storable_text(value)


class TemplatePreview(APIView):
    @extend_schema(
        request=PreviewSerializer,
        responses={200: OpenApiTypes.OBJECT},
        description="Render a template (or evaluate an expression) against a sample event "
        "as a run would; secrets read as their names in angle quotes. A template that "
        'fails answers 200 with {"ok": false, "error"}.',
    )
    def post(self, request: Request, flow_id: int) -> Response:
        access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = PreviewSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        return Response(
            template_preview(
                data["template"], mode=data["mode"], trigger=data["trigger"], steps=data["steps"]
            )
        )


class CodeCheck(APIView):
    @extend_schema(
        request=CodeCheckSerializer,
        responses={200: OpenApiTypes.OBJECT},
        description="Compile a code step's source without running it: "
        '{"problems": [{"line", "column", "message"}]}, empty when it would compile.',
    )
    def post(self, request: Request, flow_id: int) -> Response:
        access.flow_get_for_user(user=_user(request), flow_id=flow_id, write=True)
        given = CodeCheckSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        problems = CHECKERS[given.validated_data["language"]](given.validated_data["code"])
        return Response({"problems": [problem.as_dict() for problem in problems]})
