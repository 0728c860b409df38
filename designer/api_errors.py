"""One error shape for every endpoint: ``{"detail": "...", "errors": [{"field", "message"}]}``,
with ``node`` too when a graph is refused."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from designer.graph import GraphInvalid
from designer.models import ImmutableVersionError
from designer.services import InvalidRequest, TestsFailing, VersionConflict
from runtime.services import RunRefused


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, GraphInvalid):
        return Response(
            {"detail": f"{exc} Nothing was saved.", "errors": [p.as_dict() for p in exc.problems]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, InvalidRequest | RunRefused):
        return Response(
            {"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, TestsFailing):
        return Response(
            {"detail": str(exc), "tests": exc.verdict.as_dict()}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, VersionConflict):
        latest = exc.latest
        return Response(
            {
                "detail": str(exc),
                "latest_version": {
                    "number": latest.number,
                    "author": latest.author.get_username() if latest.author else None,
                    "created_at": latest.created_at,
                    "message": latest.message,
                },
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is over {limit:,} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ImmutableVersionError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = list(_flatten(exc.detail))
        summary = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
        response.data = {"detail": f"Invalid input. {summary}", "errors": errors}
    return response


def _flatten(detail: Any, prefix: str = "") -> Any:
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = prefix if key == "non_field_errors" else f"{prefix}.{key}".strip(".")
            yield from _flatten(value, field)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from _flatten(item, f"{prefix}[{index}]")
            else:
                yield from _flatten(item, prefix)
    else:
        yield {"field": prefix or None, "message": str(detail)}


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler: a URL under /api/ that matches no route (``/api/runs/abc/``)
    is an API error like any other, in JSON; pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No such API endpoint."}, status=404)
    return defaults.page_not_found(request, exception)
