"""trigger.webhook: an unguessable URL /hooks/<token> that starts a run per request."""

from collections.abc import Iterable

from designer.graph import Graph, Node, Problem
from runtime.kinds import TriggerKind, node_reference, references

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_BODY_LIMIT = 25 * 1024 * 1024  # what GitHub may send; beyond this, use object storage


class WebhookTrigger(TriggerKind):
    type = "trigger.webhook"
    label = "Webhook"
    description = "Start the flow when something calls this flow's URL."
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
            "signature": {
                "enum": ["none", "github", "stripe", "generic"],
                "title": "Verify signature",
                "default": "none",
            },
            "signature_secret": {
                "type": "string",
                "title": "Signing secret",
                "x-widget": "secret",
                "description": "The name of a Tributary secret holding the signing key.",
            },
            "signature_header": {
                "type": "string",
                "title": "Signature header (generic)",
                "default": "X-Signature",
                "pattern": "^[A-Za-z0-9-]{1,100}$",
            },
            "signature_tolerance_seconds": {
                "type": "integer",
                "title": "Timestamp tolerance (seconds)",
                "minimum": 1,
                "maximum": 86400,
                "default": 300,
            },
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
            "rate_limit_per_minute": {
                "type": "integer",
                "title": "Requests per minute",
                "minimum": 1,
                "maximum": 100_000,
                "default": 600,
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


KIND = WebhookTrigger()
