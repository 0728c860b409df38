"""flow.wait: pause the run until its resume URL is called or a matching platform event
arrives, or until a timeout; no worker is held meanwhile (runtime.engine.waits).

The URL is ``{{ resume_url('<this node>') }}`` in any template of the run (send it to
whoever must call it, before the wait); the call's body becomes the output. An event
matches by type and, optionally, one payload field equal to a value rendered from the run
(``order_id`` == ``{{ event.trigger.body.id }}``): only this order's payment resumes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from designer.graph import Graph, Node, Problem
from runtime.kinds.contract import (
    StepContext,
    StepError,
    StepKind,
    StepOutput,
    Suspend,
    WaitSpec,
    template,
    timeout_at,
    wait_timeout,
)
from runtime.kinds.resume import resume_url
from runtime.triggers.events import EVENT_TYPE
from runtime.triggers.webhook.signatures import SIGNATURE_FIELDS

MAX_MATCH = 500  # Suspension.match_value
PATH = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


class WaitForEvent(StepKind):
    type = "flow.wait"
    queue = "light"
    label = "Wait for event"
    description = "Pause until the run's resume URL is called or a matching event arrives."
    handles = ("received", "timed_out")
    suspends = True
    output_example = {
        "via": "url",
        "body": {},
        "event": {"type": "payment.received", "payload": {}, "emitted_at": ""},
        "received_at": "2026-01-01T09:00:00+00:00",
        "timed_out": False,
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "event_type": {
                "type": "string",
                "title": "Event type",
                "maxLength": 200,
                "pattern": EVENT_TYPE,
                "description": "Also resume on this platform event, e.g. payment.received "
                "(empty: only the resume URL resumes).",
            },
            "match_field": {
                "type": "string",
                "title": "Only when the event's field",
                "maxLength": 200,
                "pattern": PATH,
                "description": "A field of the event's payload, e.g. order_id",
            },
            "match_value": template(
                "equals",
                maxLength=500,
                description="e.g. {{ event.trigger.body.id }}",
            ),
            "timeout_seconds": wait_timeout(),
            **SIGNATURE_FIELDS,
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        config = node.config
        if bool(config.get("match_field")) != bool(config.get("match_value")):
            missing = "match_value" if config.get("match_field") else "match_field"
            yield Problem(
                "Matching an event needs both a field and the value it must equal.",
                node=node.id,
                field=f"config.{missing}",
            )
        if config.get("match_field") and not config.get("event_type"):
            yield Problem(
                "Name the event type whose field must match.",
                node=node.id,
                field="config.event_type",
            )
        scheme = config.get("signature", "none")
        if scheme != "none" and not config.get("signature_secret"):
            yield Problem(
                f"Verifying {scheme} signatures needs the name of the secret holding the key.",
                node=node.id,
                field="config.signature_secret",
            )

    def rehearse(self, ctx: StepContext) -> bool:
        """A replay does not wait: it records what the step would have waited for."""
        self._spec(ctx, timezone.now())
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        if ctx.resumed is not None:
            return StepOutput({**ctx.resumed, "timed_out": False}, handle="received")
        now = timezone.now()
        if ctx.wake_at is not None and ctx.wake_at <= now:
            output = {"timed_out": True, "waited_until": ctx.wake_at.isoformat()}
            return StepOutput(output, handle="timed_out")
        raise Suspend(self._spec(ctx, now))

    def _spec(self, ctx: StepContext, now: datetime) -> WaitSpec:
        """What the step waits for (recorded as its input)."""
        config = ctx.config
        until = timeout_at(config, now)
        match_value = ctx.render(config["match_value"]) if config.get("match_field") else ""
        if len(match_value) > MAX_MATCH:
            raise StepError(
                f"The value to match renders to {len(match_value):,} characters; "
                f"at most {MAX_MATCH} can be matched.",
                retryable=False,
            )
        ctx.input = {
            "resume_url": resume_url(int(ctx.info["run_id"]), ctx.node.id),
            "event_type": config.get("event_type", ""),
            "match": {config["match_field"]: match_value} if config.get("match_field") else {},
            "until": until.isoformat() if until else None,
        }
        return WaitSpec(
            "event",
            until=until,
            event_type=config.get("event_type", ""),
            match_path=config.get("match_field", ""),
            match_value=match_value,
        )


KIND = WaitForEvent()
