"""http.request: call an HTTP API; JSON or text response as the output."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput, template
from runtime.steps.netguard import resolve_public
from runtime.tracing import spans

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
# Methods with an effect worth deduplicating: they carry the step's idempotency key.
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_REDIRECTS = 5
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
EXCERPT = 500


class HttpRequest(StepKind):
    type = "http.request"
    queue = "io"
    effects = True
    label = "HTTP request"
    description = "Call an API. 4xx/5xx responses fail the step with the status and body."
    output_example = {"status": 200, "headers": {"content-type": "application/json"}, "body": {}}
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "method": {"enum": METHODS, "title": "Method", "default": "GET"},
            "url": template(
                "URL",
                minLength=1,
                maxLength=4096,
                examples=["https://api.example.com/orders/{{ event.trigger.body.id }}"],
            ),
            "headers": {
                "type": "object",
                "title": "Headers",
                "x-widget": "keyvalue",
                "additionalProperties": template("Value", maxLength=8192),
            },
            "body": template("Body", multiline=True, maxLength=1024 * 1024),
            "body_type": {
                "enum": ["json", "text", "form"],
                "title": "Body is",
                "default": "json",
                "description": "json: the body template must render valid JSON.",
            },
            "timeout_seconds": {
                "type": "number",
                "title": "Timeout (seconds)",
                "exclusiveMinimum": 0,
                "maximum": 300,
                "default": 30,
            },
            "fail_on_http_error": {
                "type": "boolean",
                "title": "Fail on 4xx/5xx",
                "default": True,
            },
            "idempotency": {
                "type": "boolean",
                "title": "Send an idempotency key",
                "default": True,
                "description": "POST, PUT, PATCH and DELETE carry a key that is the same on "
                "every retry of this step in this run: an API that honours it acts once.",
            },
            "idempotency_header": {
                "type": "string",
                "title": "Idempotency header",
                "default": "Idempotency-Key",
                "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$",
                "description": "The header that carries the key (a header of the same name "
                "set above wins).",
            },
        },
    }

    def sends_key(self, config: Mapping[str, Any]) -> bool:
        return config.get("idempotency", True) and config.get("method", "GET") in UNSAFE_METHODS

    def rehearse(self, ctx: StepContext) -> bool:
        """GET and HEAD run for real in a replay; other methods are rendered, not sent."""
        if ctx.config.get("method", "GET") in ("GET", "HEAD"):
            return False
        self._request(ctx)
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        method, url, headers, content = self._request(ctx)
        timeout = min(ctx.config.get("timeout_seconds", 30), max(ctx.remaining(), 1))
        attributes = {"http.request.method": method, "url.full": _without_credentials(url)}
        with spans.child_span(f"HTTP {method}", "client", attributes) as span:
            # The callee continues the run's trace from this span (W3C traceparent).
            sent = span.propagate(headers)
            response = fetch(method, url, sent, content, timeout, cancelled=ctx.cancelled)
            span.set("http.response.status_code", response["status"])
            fail = ctx.config.get("fail_on_http_error", True)
            return StepOutput(self._check(response, url, fail))

    def _request(self, ctx: StepContext) -> tuple[str, str, dict[str, str], bytes | None]:
        """The request as it will be sent (recorded as the step's input)."""
        method = ctx.config.get("method", "GET")
        url = ctx.render(ctx.config["url"]).strip()
        headers = {name: ctx.render(value) for name, value in ctx.config.get("headers", {}).items()}
        content, content_type = self._body(ctx)
        if content_type and not _has(headers, "Content-Type"):
            headers["Content-Type"] = content_type
        key_header = ctx.config.get("idempotency_header", "Idempotency-Key")
        if self.sends_key(ctx.config) and not _has(headers, key_header):
            headers[key_header] = ctx.idempotency_key
        ctx.input = {
            "method": method,
            "url": url,
            "headers": headers,
            "body": content.decode(errors="replace") if content else None,
        }
        return method, url, headers, content

    def _body(self, ctx: StepContext) -> tuple[bytes | None, str | None]:
        if "body" not in ctx.config or ctx.config.get("method", "GET") in ("GET", "HEAD"):
            return None, None
        text = ctx.render(ctx.config["body"])
        body_type = ctx.config.get("body_type", "json")
        if body_type == "text":
            return text.encode(), "text/plain; charset=utf-8"
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise StepError(
                f"The body does not render to valid JSON: {exc}.",
                detail=text[:EXCERPT],
                retryable=False,
            ) from None
        if body_type == "form":
            if not isinstance(value, dict):
                raise StepError("A form body must render to a JSON object.", retryable=False)
            return urlencode(value, doseq=True).encode(), "application/x-www-form-urlencoded"
        return json.dumps(value).encode(), "application/json"

    def _check(self, response: dict[str, Any], url: str, fail: bool) -> dict[str, Any]:
        status = response["status"]
        if fail and status >= 400:
            excerpt = response["text"][:EXCERPT]
            raise StepError(
                f"HTTP {status} from {url}: {excerpt}",
                detail=response["text"],
                retryable=status >= 500 or status == 429,
                kind="http_status",
            )
        return {"status": status, "headers": response["headers"], "body": response["body"]}


def _has(headers: Mapping[str, str], name: str) -> bool:
    return any(header.lower() == name.lower() for header in headers)


def fetch(
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    timeout: float,
    cancelled: threading.Event | None = None,
) -> dict[str, Any]:
    """Send the request to a checked public address, following redirects by hand so each
    hop is checked too. ``timeout`` bounds the whole exchange, not only each read: a
    server that trickles a byte at a time cannot hold the step past it."""
    budget = _Budget(time.monotonic() + timeout, timeout, cancelled)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target = _parse(url)
            address = resolve_public(target.host, target.port or _default_port(target))
            request_headers = {"Host": target.netloc.decode(), **headers}
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            try:
                with client.stream(
                    method,
                    target.copy_with(host=address),
                    headers=request_headers,
                    content=content,
                    extensions=extensions,
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(target.join(response.headers["location"]))
                        method, content = (
                            ("GET", None) if response.status_code == 303 else (method, content)
                        )
                        continue
                    return _read(response, budget, target.host)
            except httpx.TimeoutException:
                raise StepError(
                    f"No answer from {target.host} within {timeout:g} s.", timeout=True
                ) from None
            except httpx.HTTPError as exc:
                raise StepError(f"Request to {target.host} failed: {exc}.") from None
    raise StepError(f"More than {MAX_REDIRECTS} redirects from {url}.", retryable=False)


def _parse(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise StepError(f"{url!r} is not a valid URL: {exc}.", retryable=False) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise StepError(f"{url!r} is not an http(s) URL.", retryable=False)
    return target


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


@dataclass
class _Budget:
    deadline: float
    timeout: float
    cancelled: threading.Event | None

    def check(self, host: str) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise StepError("Cancelled while waiting for the response.", retryable=False)
        if time.monotonic() > self.deadline:
            raise StepError(
                f"No complete answer from {host} within {self.timeout:g} s.", timeout=True
            )


def _read(response: httpx.Response, budget: _Budget, host: str) -> dict[str, Any]:
    data = bytearray()
    for chunk in response.iter_bytes():
        budget.check(host)
        data.extend(chunk)
        if len(data) > MAX_RESPONSE_BYTES:
            raise StepError(f"The response is over {MAX_RESPONSE_BYTES:,} bytes.", retryable=False)
    text = data.decode(response.encoding or "utf-8", errors="replace")
    body: Any = text
    if "json" in response.headers.get("content-type", ""):
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "text": text,
        "body": body,
    }


KIND = HttpRequest()


def _without_credentials(url: str) -> str:
    """``url`` as traces show it: without its query and user info, where tokens travel
    (OpenTelemetry's semantic conventions ask collectors never to receive those)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
