"""trigger.webhook: an unguessable URL /hooks/<token> that starts a run per request.

The HTTP side (body limits, signatures, idempotency, rate limits) is endpoint.py beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from designer.graph import Graph, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import TriggerKind, node_reference, references
from runtime.models import WebhookCapture, WebhookEndpoint
from runtime.models.triggers import new_token
from runtime.triggers.webhook.request import sample_payload
from runtime.triggers.webhook.signatures import SIGNATURE_FIELDS

LISTEN_FOR = timedelta(minutes=5)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_BODY_LIMIT = 25 * 1024 * 1024  # what GitHub may send; beyond this, use object storage


class WebhookTrigger(TriggerKind):
    type = "trigger.webhook"
    label = "Webhook"
    description = "Start the flow when something calls this flow's URL."
    # What endpoint.py hands a run: the request, with the body parsed by its content type.
    output_example = {
        "method": "POST",
        "path": "/hooks/token",
        "query": {},
        "headers": {"content-type": "application/json"},
        "body": {},
        "body_size": 2,
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "methods": {
                "type": "array",
                "title": "Allowed methods",
                "uniqueItems": True,
                "minItems": 1,
                "items": {"enum": METHODS},
                "default": ["POST"],
            },
            "response_mode": {
                "enum": ["accept", "wait"],
                "title": "Respond",
                "default": "accept",
                "description": "accept: 202 with the run id at once; wait: the flow's result.",
            },
            "response_step": node_reference(
                "Respond with the output of",
                description="In wait mode; by default the output of the last step.",
            ),
            "wait_timeout_seconds": {
                "type": "number",
                "title": "Wait at most (seconds)",
                "exclusiveMinimum": 0,
                "maximum": 30,
                "default": 10,
            },
            **SIGNATURE_FIELDS,
            "idempotency_header": {
                "type": "string",
                "title": "Idempotency header",
                "pattern": "^[A-Za-z0-9-]{1,100}$",
                "description": "e.g. Idempotency-Key or X-GitHub-Delivery: repeats return the "
                "original run.",
            },
            "max_body_bytes": {
                "type": "integer",
                "title": "Largest body (bytes)",
                "minimum": 1,
                "maximum": MAX_BODY_LIMIT,
                "default": 1024 * 1024,
            },
            # No default: an unlimited hook costs no Redis round trip per request
            # (endpoint.py); a limit, once set, is counted in Redis across processes.
            "rate_limit_per_minute": {
                "type": "integer",
                "title": "Requests per minute",
                "minimum": 1,
                "maximum": 100_000,
                "description": "Empty: no limit. Set, every request is counted in Redis.",
            },
            "include_sensitive_headers": {
                "type": "boolean",
                "title": "Pass Cookie and Authorization headers to the flow",
                "default": False,
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        yield from references(node, graph, "response_step")
        scheme = node.config.get("signature", "none")
        if scheme != "none" and not node.config.get("signature_secret"):
            yield Problem(
                f"Verifying {scheme} signatures needs the name of the secret holding the key.",
                node=node.id,
                field="config.signature_secret",
            )

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        # Endpoints are never deleted: a node that comes back keeps its URL.
        for node in nodes:
            endpoint_for(flow, node.id)
        # A capture left waiting (say, by the designer's Test before publishing) would
        # swallow the first live request: from a publish on, requests start runs.
        listen_stop(flow=flow)

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The request the sample states, as the endpoint would read it (no signature
        check: a test run is started by an editor, not by the caller)."""
        config = node.config
        properties = self.config_schema["properties"]
        return sample_payload(
            sample,
            methods=config.get("methods", properties["methods"]["default"]),
            path=f"/hooks/{endpoint_for(flow, node.id).token}",
            keep_sensitive=config.get("include_sensitive_headers", False),
        )


KIND = WebhookTrigger()


def endpoint_for(flow: Flow, node_id: str) -> WebhookEndpoint:
    endpoint, _ = WebhookEndpoint.objects.get_or_create(flow=flow, node_id=node_id)
    return endpoint


def endpoint_url(endpoint: WebhookEndpoint, *, base: str) -> str:
    """The endpoint's full URL under ``base`` (see public_base: the configured public URL,
    else the address the page was requested at)."""
    return f"{base.rstrip('/')}/hooks/{endpoint.token}"


def endpoint_rotate(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Give the endpoint a new token; the old URL stops working at once."""
    endpoint.token = new_token()
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["token", "rotated_at"])
    return endpoint


def listen_start(endpoint: WebhookEndpoint) -> WebhookCapture:
    """Keep the next request to the endpoint as sample data instead of starting a run."""
    with transaction.atomic():
        WebhookCapture.objects.filter(endpoint=endpoint, captured_at__isnull=True).delete()
        return WebhookCapture.objects.create(
            endpoint=endpoint, expires_at=timezone.now() + LISTEN_FOR
        )


def listen_status(*, flow: Flow, node_id: str) -> WebhookCapture | None:
    """The latest test capture of the flow's webhook node, if it ever listened."""
    return WebhookCapture.objects.filter(endpoint__flow=flow, endpoint__node_id=node_id).first()


def listen_stop(*, flow: Flow, node_id: str | None = None) -> int:
    """Stop listening (of one node, or all): the next request starts a run again. Returns
    how many waiting captures were dropped; captured requests are kept."""
    waiting = WebhookCapture.objects.filter(endpoint__flow=flow, captured_at__isnull=True)
    if node_id is not None:
        waiting = waiting.filter(endpoint__node_id=node_id)
    return waiting.delete()[0]
