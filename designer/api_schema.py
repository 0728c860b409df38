"""The OpenAPI schema states the refusals too: each operation documents the error answers it
can give, in the one shape designer.api_errors renders, so clients (and the API fuzzer,
tests/test_api_fuzz.py) can hold every answer to the schema.

Which statuses an operation documents follows from what it takes: 401 without credentials;
400 for anything with input to refuse (a body, a query string, or an action such as
cancelling a finished run); 403 for changes a role may not make; 404 wherever an id or a
page position is read; 413 and 415 for bodies too large or not JSON. Views add their own
(409) with ``extend_schema``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

_SAFE = {"GET", "HEAD", "OPTIONS"}
_DESCRIPTIONS = {
    "400": "The input is refused; `errors` names each field (and node) and why.",
    "401": "No valid credentials (session or `Authorization: Token <key>`).",
    "403": "Your role in the workspace does not allow this.",
    "404": "No such object, or not one you may see.",
    "413": "The request body is over the size limit.",
    "415": "The request body is not JSON.",
}


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path, e.g. config.url")
    message = serializers.CharField()
    node = serializers.CharField(
        required=False, allow_null=True, help_text="The graph node, for graph errors"
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    # Serializer.errors is a property; the metaclass takes declared fields off the class,
    # so only the type checker sees a clash.
    errors = FieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the error answers every operation can give."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        for code in _error_codes(self.method, operation):
            operation["responses"].setdefault(
                code,
                {
                    "content": {"application/json": {"schema": error}},
                    "description": _DESCRIPTIONS[code],
                },
            )
        return operation


def _error_codes(method: str, operation: dict[str, Any]) -> list[str]:
    has_body = "requestBody" in operation
    has_parameters = bool(operation.get("parameters"))
    codes = ["401"] if operation.get("security") else []
    if method not in _SAFE:
        codes += ["400", "403"]
    elif any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
        codes.append("400")
    if has_parameters or has_body:
        codes.append("404")
    if has_body:
        codes += ["413", "415"]
    return codes
