"""What a request to a webhook becomes as ``event.trigger``: ``{method, path, query,
headers, body, body_size}`` (and ``body_encoding`` for a binary body).

One function builds it for both ways a flow meets a request: a real one at the endpoint
(endpoint.py), and a test run's sample (``sample_payload``), which is first turned into the
bytes a client would send and then read by the same code. So a test with a request and a
live call with that request give the flow the same input.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

from designer.graph import json_problem
from runtime.kinds.contract import SampleRefused

SENSITIVE_HEADERS = {"cookie", "authorization"}
# What a request sample may state; path and body_size are the server's (kept in a captured
# request, so one can be pasted back unchanged).
SAMPLE_KEYS = {"method", "path", "query", "headers", "body", "body_encoding", "body_size"}
Headers = dict[str, str]


class BadRequest(ValueError):
    """The request cannot become a run's input; the message says why (a 400)."""


def request_payload(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Headers,
    raw: bytes,
    keep_sensitive: bool,
) -> dict[str, Any]:
    """The flow's view of a request whose header names are lower case. BadRequest when
    the body does not parse as its Content-Type says, or cannot be stored."""
    query = {
        k: v[0] if len(v) == 1 else v
        for k, v in parse_qs(query_string, keep_blank_values=True).items()
    }
    payload = {
        "method": method,
        "path": path,
        "query": query,
        "headers": {
            k: v for k, v in headers.items() if keep_sensitive or k not in SENSITIVE_HEADERS
        },
        **_body(raw, headers.get("content-type", "")),
        "body_size": len(raw),
    }
    problem = json_problem(payload, what="The request", max_depth=200)
    if problem:
        raise BadRequest(problem)
    return payload


def _body(raw: bytes, content_type: str) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    if not raw:
        return {"body": None}
    if media == "application/json" or media.endswith("+json"):
        try:
            return {"body": json.loads(raw, parse_constant=_no_constants)}
        except (ValueError, RecursionError) as exc:
            raise BadRequest(f"The body is not valid JSON: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"body": base64.b64encode(raw).decode(), "body_encoding": "base64"}
    if media == "application/x-www-form-urlencoded":
        form = parse_qs(text, keep_blank_values=True)
        return {"body": {k: v[0] if len(v) == 1 else v for k, v in form.items()}}
    return {"body": text}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def sample_payload(
    sample: Any, *, methods: Sequence[str], path: str, keep_sensitive: bool
) -> dict[str, Any]:
    """The input a real request stated by ``sample`` (``method``, ``query``, ``headers``,
    ``body``; each optional) would give: the body is encoded as a client sends it (JSON
    without spaces unless the Content-Type says otherwise), Content-Type and
    Content-Length are added when missing, and the result is read like a real request.
    SampleRefused when no request to this webhook could look like that."""
    if not isinstance(sample, dict) or set(sample) - SAMPLE_KEYS:
        raise SampleRefused(
            "A webhook delivers the request: {method, query, headers, body}. Put what the "
            'caller sends under body, e.g. {"body": {"id": 1}}.'
        )
    method = str(sample.get("method") or methods[0]).upper()
    if method not in methods:
        raise SampleRefused(f"This webhook accepts {', '.join(methods)}, not {method}.")
    headers = {str(k).lower(): str(v) for k, v in _mapping(sample, "headers").items()}
    raw = _raw(sample.get("body"), headers, sample.get("body_encoding"))
    if raw:
        headers.setdefault("content-type", _media_of(sample))
        headers.setdefault("content-length", str(len(raw)))
    try:
        return request_payload(
            method=method,
            path=path,
            query_string=urlencode(_mapping(sample, "query"), doseq=True),
            headers=headers,
            raw=raw,
            keep_sensitive=keep_sensitive,
        )
    except BadRequest as exc:
        raise SampleRefused(f"A real request like this is refused (400): {exc}") from None


def _mapping(sample: dict[str, Any], key: str) -> dict[str, Any]:
    value = sample.get(key) or {}
    if not isinstance(value, dict):
        raise SampleRefused(f'{key} is an object of names and values, e.g. {{"a": "1"}}.')
    return value


def _media_of(sample: dict[str, Any]) -> str:
    """The Content-Type a client gives the sample's body when the sample names none."""
    if sample.get("body_encoding") == "base64":
        return "application/octet-stream"
    return "text/plain" if isinstance(sample["body"], str) else "application/json"


def _raw(body: Any, headers: Headers, encoding: Any) -> bytes:
    """The bytes a client would send for ``body``."""
    if body is None:
        return b""
    if encoding == "base64":
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise SampleRefused("body_encoding is base64 but the body is not base64.") from None
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if isinstance(body, dict) and media == "application/x-www-form-urlencoded":
        return urlencode(body, doseq=True).encode()
    if isinstance(body, str) and not (media == "application/json" or media.endswith("+json")):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
