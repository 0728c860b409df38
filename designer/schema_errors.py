"""Turn JSON Schema validation errors into messages a business user can act on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def schema_errors(
    validator: Draft202012Validator, instance: Any, prefix: str
) -> Iterator[tuple[str, str]]:
    """(dotted field path, message) for each way ``instance`` breaks the schema."""
    for error in sorted(validator.iter_errors(instance), key=_error_sort_key):
        path = [prefix, *(str(part) for part in error.absolute_path)]
        yield _describe(error, path)


def _error_sort_key(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(part) for part in error.absolute_path)


def _describe(error: ValidationError, path: list[str]) -> tuple[str, str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        required: Any = error.validator_value
        instance: Any = error.instance
        missing = [name for name in required if name not in instance]
        return ".".join([*path, missing[0]]), "This field is required."
    if error.validator == "additionalProperties":
        return ".".join(path), error.message.replace("Additional properties", "Unknown fields")
    if error.validator in {"oneOf", "anyOf"} and schema.get("x-message"):
        return ".".join(path), schema["x-message"]
    title = schema.get("title")
    message = error.message
    if error.validator in {
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "pattern",
        "enum",
        "type",
        "minItems",
        "maxItems",
        "format",
    }:
        message = f"{title + ': ' if title else ''}{_plain(error)}"
    return ".".join(path), message


def _plain(error: ValidationError) -> str:
    value: Any = error.validator_value
    match error.validator:
        case "minLength" if value == 1:
            return "must not be empty."
        case "minLength":
            return f"must be at least {value} characters."
        case "maxLength":
            return f"must be at most {value} characters."
        case "minimum":
            return f"must be at least {value}."
        case "maximum":
            return f"must be at most {value}."
        case "exclusiveMinimum":
            return f"must be greater than {value}."
        case "enum":
            return "must be one of " + ", ".join(json.dumps(v) for v in value) + "."
        case "type":
            return f"must be of type {value}."
        case "minItems":
            return f"needs at least {value} item(s)."
        case "maxItems":
            return f"allows at most {value} item(s)."
    return error.message
