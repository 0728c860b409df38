"""flow.delay: wait for a while, or until a time, without holding a worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runtime.kinds.contract import (
    MAX_WAIT_SECONDS,
    StepContext,
    StepError,
    StepKind,
    StepOutput,
    Wait,
    template,
)


class Delay(StepKind):
    type = "flow.delay"
    queue = "light"
    label = "Delay"
    description = "Wait a number of seconds, or until a time taken from the event."
    output_example = {"waited_until": "2026-01-01T09:00:00+00:00"}
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "seconds": {
                "type": "number",
                "title": "Seconds",
                "minimum": 0,
                "maximum": MAX_WAIT_SECONDS,
            },
            "until": template(
                "Until",
                maxLength=500,
                description="An ISO 8601 time, e.g. {{ event.trigger.body.send_at }}",
            ),
        },
        "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
        "x-message": "Set either seconds or until (one of them, not both).",
    }

    def rehearse(self, ctx: StepContext) -> bool:
        """A replay does not wait: it records until when the step would have."""
        ctx.input = {"until": self._target(ctx, timezone.now()).isoformat()}
        return True

    def run(self, ctx: StepContext) -> StepOutput:
        now = timezone.now()
        if ctx.wake_at is not None and ctx.wake_at <= now:
            return StepOutput({"waited_until": ctx.wake_at.isoformat()})
        target = self._target(ctx, now)
        ctx.input = {"until": target.isoformat()}
        if target <= now:
            return StepOutput({"waited_until": target.isoformat()})
        # The engine parks the step in Postgres; the scheduler wakes it at ``target``.
        raise Wait(target)

    def _target(self, ctx: StepContext, now: datetime) -> datetime:
        if "seconds" in ctx.config:
            return now + timedelta(seconds=ctx.config["seconds"])
        text = ctx.render(ctx.config["until"]).strip()
        try:
            moment = parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise StepError(
                f"{text!r} is not an ISO 8601 time such as 2026-12-01T09:00:00Z.", retryable=False
            )
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


KIND = Delay()
