"""The webhook endpoint /hooks/<token>: a bare ASGI app in front of Django.

It skips Django's middleware (no sessions, CSRF or cookies belong here) and reads the body
itself, counting bytes as they arrive, so a body over the limit is refused with 413 even
when Content-Length is missing or lies, and a body that stops arriving with 408. Every
refusal is a 4xx with a message; none starts a run. The run is durably recorded
(committed) before the 202 goes out.

Listening for a test event: the first request that passes every check while a capture is
waiting claims it with a conditional UPDATE and is answered 200 "captured" (no run). A
request that loses that race to another is handled as a normal delivery: a run of the live
version (202), or 404 when the flow has none. So exactly one request is ever "captured".
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from designer.graph import Node
from runtime.engine import graphs, sql
from runtime.engine.status import STEP_FINISHED, RunStatus
from runtime.live.waiting import wait_for_run
from runtime.models import Run, WebhookCapture, WebhookEndpoint
from runtime.resources.secrets import SecretBox
from runtime.runs import AlreadyStarted, RunRefused, run_start
from runtime.triggers.webhook import ratelimit
from runtime.triggers.webhook.kind import KIND as WEBHOOK
from runtime.triggers.webhook.request import BadRequest, Headers, request_payload
from runtime.triggers.webhook.signatures import BadSignature, verify_configured

logger = logging.getLogger(__name__)
# After refusing a body part-way, the rest of it may still be on the wire: the connection
# cannot carry another request.
CLOSE = {"Connection": "close"}


class Reject(Exception):
    def __init__(self, status: int, detail: str, headers: Headers | None = None):
        self.status, self.detail, self.headers = status, detail, headers or {}
        super().__init__(detail)


@dataclass
class Target:
    endpoint: WebhookEndpoint
    node: Node
    live: bool  # the node is in the live version (else only a test capture may use it)
    capture_id: int | None
    config: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str) -> Any:
        return self.config.get(name, WEBHOOK.config_schema["properties"][name].get("default"))


async def webhook_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    try:
        status, body, headers = await _handle(scope, receive)
    except Reject as reject:
        status, body, headers = reject.status, {"detail": reject.detail}, reject.headers
    except Exception:  # never a traceback to the caller; the run was not started
        logger.exception("Webhook request failed")
        status, body, headers = 500, {"detail": "Tributary could not accept this request."}, {}
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _db(function: Any) -> Any:
    """Run ``function`` in a worker thread with a healthy database connection. Not
    thread-sensitive: requests must not queue behind one another on a single thread."""

    def call(*args: Any) -> Any:
        close_old_connections()
        return function(*args)

    return sync_to_async(call, thread_sensitive=False)


async def _handle(scope: dict[str, Any], receive: Any) -> tuple[int, Any, Headers]:
    if scope["type"] != "http":
        raise Reject(404, "No webhook here.")
    headers = _headers(scope)
    token = scope["path"].removeprefix("/hooks/").strip("/")
    first = _arrived(receive, headers)
    try:
        await asyncio.sleep(0)  # lets ``first`` take a body that came with the headers
        if first is not None and first.done() and _whole(first.result()):
            # Each trip to a database thread costs a thread hand-off: one is enough here.
            raw = first.result().get("body", b"")
            target, run, repeated = await _db(_resolve_and_accept)(scope, token, raw, headers)
        else:
            target = await _db(resolve)(token, scope["method"])
            limit = target.setting("max_body_bytes")
            raw = await _read_body(receive, headers, limit, first)
            run, repeated = await _db(_accept)(scope, target, raw, headers)
    finally:
        if first is not None:
            first.cancel()  # a refusal before the body came: stop waiting for it
    if run is None:
        return 200, {"captured": True, "detail": "Kept as a test event; no run was started."}, {}
    extra = {"Idempotent-Replayed": "true"} if repeated else {}
    if target.setting("response_mode") == "wait" and not repeated:
        return await _wait(target, run, extra)
    return 202, {"run_id": run.pk}, extra


def _arrived(receive: Any, headers: Headers) -> asyncio.Future | None:
    """The first body message, asked for before the hook is known: a body sent with the
    headers (most webhooks) is then taken in the same trip to the database as the lookup.
    Not for a client that waits for "100 Continue": asking would send it one before an
    unknown hook or a body over the limit could be refused."""
    if "expect" in headers:
        return None
    return asyncio.ensure_future(receive())


def _whole(message: dict[str, Any]) -> bool:
    return message["type"] == "http.request" and not message.get("more_body", False)


def _headers(scope: dict[str, Any]) -> Headers:
    headers: Headers = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def resolve(token: str, method: str) -> Target:
    """The hook of ``token`` if it takes ``method`` and is under its rate limit; else
    Reject (404, 405, 429)."""
    found = sql.webhook_endpoint(token, timezone.now()) if 0 < len(token) <= 64 else None
    if found is None:
        raise Reject(404, "No webhook here.")
    endpoint, capture_id = found
    flow = endpoint.flow
    live = flow.live_version if flow.archived_at is None else None
    node = graphs.graph_of(live).nodes.get(endpoint.node_id) if live else None
    in_live = node is not None
    if node is None and capture_id is not None:
        node = _draft_node(endpoint)
    if node is None or node.type != WEBHOOK.type:
        raise Reject(404, "No webhook here.")
    target = Target(
        endpoint=endpoint,
        node=node,
        live=in_live,
        capture_id=capture_id,
        config=dict(node.config),
    )
    allowed = target.setting("methods")
    if method not in allowed:
        raise Reject(
            405, f"This webhook accepts {', '.join(allowed)}.", {"Allow": ", ".join(allowed)}
        )
    _rate_limit(endpoint, target.setting("rate_limit_per_minute"))
    return target


def _draft_node(endpoint: WebhookEndpoint) -> Node | None:
    """The node in the latest saved version: listening works before the first publish."""
    latest = endpoint.flow.versions.order_by("-number").first()
    return graphs.graph_of(latest).nodes.get(endpoint.node_id) if latest else None


def _rate_limit(endpoint: WebhookEndpoint, per_minute: int | None) -> None:
    """Only a hook with a limit asks Redis: the count is shared by every process, and a
    round trip on every request of every other hook would be paid for nothing."""
    if not per_minute:
        return
    allowed, retry = ratelimit.allow(f"hook:{endpoint.pk}", per_minute)
    if not allowed:
        raise Reject(
            429,
            f"Too many requests: this webhook takes {per_minute} a minute.",
            {"Retry-After": str(retry)},
        )


async def _read_body(
    receive: Any, headers: Headers, limit: int, first: asyncio.Future | None = None
) -> bytes:
    """The raw body, counted as it arrives. A Content-Length over the limit is refused
    before reading; one that lies is caught by the count (more than the limit: 413) or by
    the wait for the rest (408 after settings.TRIBUTARY_WEBHOOK_BODY_TIMEOUT_SECONDS
    without a byte). A longer body than declared never gets here: the HTTP server frames
    the request by Content-Length and refuses the excess as a malformed next request."""
    declared = headers.get("content-length", "")
    too_big = _too_big(limit, CLOSE)
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_big
    timeout = settings.TRIBUTARY_WEBHOOK_BODY_TIMEOUT_SECONDS
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(first or receive(), timeout)
            first = None
        except TimeoutError:
            raise Reject(
                408, f"The body stopped arriving; waited {timeout:g} s for the rest.", CLOSE
            ) from None
        if message["type"] == "http.disconnect":
            raise Reject(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_big(limit: int, headers: Headers | None = None) -> Reject:
    return Reject(413, f"The body is over this webhook's limit of {limit:,} bytes.", headers)


def _check_signature(target: Target, raw: bytes, headers: Headers) -> None:
    scheme = target.setting("signature")
    if scheme == "none":
        return
    name = target.setting("signature_secret")
    try:
        secret = SecretBox(target.endpoint.flow.workspace_id)[name]
    except Exception:
        # The flow's configuration is broken, not the request: tell the editors, not the
        # caller, and refuse (an unverifiable request must never start a run).
        WebhookEndpoint.objects.filter(pk=target.endpoint.pk).update(
            last_error=f"The signing secret {name!r} is not set in this workspace."
        )
        raise Reject(401, "The signature cannot be verified.") from None
    try:
        verify_configured(target.config, secret=secret, body=raw, headers=headers)
    except BadSignature as exc:
        raise Reject(401, str(exc)) from None


def _payload(scope: dict[str, Any], headers: Headers, raw: bytes, target: Target) -> dict:
    try:
        return request_payload(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            raw=raw,
            keep_sensitive=target.setting("include_sensitive_headers"),
        )
    except BadRequest as exc:
        raise Reject(400, str(exc)) from None


def _idempotency_key(target: Target, headers: Headers) -> str:
    header = target.setting("idempotency_header")
    if not header:
        return ""
    key = headers.get(header.lower(), "")
    if len(key) > 200:
        raise Reject(400, f"The {header} header is longer than 200 characters.")
    return key


def _resolve_and_accept(
    scope: dict[str, Any], token: str, raw: bytes, headers: Headers
) -> tuple[Target, Run | None, bool]:
    """A request whose body came with it, in one trip: the checks in the order of the
    other path (hook, then size, then the rest)."""
    target = resolve(token, scope["method"])
    limit = target.setting("max_body_bytes")
    if len(raw) > limit:
        raise _too_big(limit)  # read whole: the connection can carry another request
    return target, *_accept(scope, target, raw, headers)


def _accept(
    scope: dict[str, Any], target: Target, raw: bytes, headers: Headers
) -> tuple[Run | None, bool]:
    """Read the request, verify its signature, then keep it as the test capture (None) or
    start the run: (run, whether it repeats an earlier delivery)."""
    payload = _payload(scope, headers, raw, target)
    key = _idempotency_key(target, headers)
    _check_signature(target, raw, headers)
    if target.capture_id is not None and _capture(target.capture_id, payload):
        return None, False
    # A caller's W3C trace context: the run's trace continues it (when tracing is on).
    return _start(target, payload, key, headers.get("traceparent", ""))


def _capture(capture_id: int, payload: dict[str, Any]) -> bool:
    """Claim the waiting capture for this request; False when another request (or the
    clock) got there first. Conditional UPDATE: of two requests racing, the second waits on
    the row lock, then matches nothing."""
    claimed = WebhookCapture.objects.filter(
        pk=capture_id, captured_at__isnull=True, expires_at__gt=timezone.now()
    ).update(captured_at=timezone.now(), payload=payload)
    return claimed == 1


def _start(target: Target, payload: dict[str, Any], key: str, traceparent: str) -> tuple[Run, bool]:
    flow = target.endpoint.flow
    if not target.live or flow.live_version is None:
        raise Reject(404, "No webhook here.")
    try:
        return run_start(
            flow=flow,
            version=flow.live_version,
            payload=payload,
            trigger_node=target.node.id,
            trigger_kind="webhook",
            origin="webhook",
            idempotency_key=key,
            traceparent=traceparent,
        ), False
    except AlreadyStarted as repeat:
        return repeat.run, True
    except RunRefused as exc:
        raise Reject(400, str(exc)) from None


async def _wait(target: Target, run: Run, extra: Headers) -> tuple[int, Any, Headers]:
    try:
        finished = await wait_for_run(run.pk, timeout=target.setting("wait_timeout_seconds"))
    except Exception:  # the run is recorded: waiting is a courtesy, never a reason for a 500
        logger.warning("Could not wait for run %s; answering 202", run.pk, exc_info=True)
        finished = None
    if finished is None:
        return 202, {"run_id": run.pk, "status": "running"}, extra
    if finished.status != RunStatus.SUCCEEDED:
        return 502, {"run_id": run.pk, "status": finished.status, "error": finished.error}, extra
    step = target.setting("response_step")
    if step:
        output = await _db(_step_output)(run.pk, step)
        return 200, output, extra
    return 200, finished.output, extra


def _step_output(run_id: int, node_id: str) -> Any:
    outputs = sql.step_outputs(run_id, statuses=STEP_FINISHED, nodes=[node_id])
    return outputs.get(node_id)
