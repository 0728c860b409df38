"""A JSON parser that its input cannot crash. Kept apart from the exception handler: DRF
reads DEFAULT_PARSER_CLASSES while rest_framework.views is being imported."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, bounded: DRF streams the body past Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE check, and deeply nested JSON raises RecursionError,
    which DRF would let through as a 500."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is over {limit:,} bytes.")
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
