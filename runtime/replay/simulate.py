"""What a step does in a replay when its kind acts on the world (kind.rehearse): it renders
what it would send and sends nothing, and the output the original run recorded for the same
node stands in for the real one, flagged when what it would send differs."""

from __future__ import annotations

from typing import Any

from runtime.engine.record import AttemptResult
from runtime.engine.status import StepStatus
from runtime.kinds.contract import StepContext, StepKind

KEY_PLACEHOLDER = "{{ idempotency_key }}"

SIMULATED = "simulated"  # the original's output stands in
SAMPLE = "sample"  # the node's declared sample output stands in
NOT_SIMULATED = "not_simulated"  # nothing to stand in: the output is null


def rehearsed(kind: StepKind, ctx: StepContext, replay: dict[str, Any]) -> bool:
    """Whether the step is simulated in this replay (False: it runs for real)."""
    if ctx.node.id in replay.get("perform", ()):
        return False
    return kind.rehearse(ctx)


def without_key(value: Any, key: str) -> Any:
    """``value`` with the run's idempotency key replaced by a placeholder: every run has its
    own, so it must not count as a difference between a replay and its original."""
    if not key:
        return value
    if isinstance(value, str):
        return value.replace(key, KEY_PLACEHOLDER)
    if isinstance(value, dict):
        return {name: without_key(item, key) for name, item in value.items()}
    if isinstance(value, list):
        return [without_key(item, key) for item in value]
    return value


def stand_in(ctx: StepContext, replay: dict[str, Any]) -> AttemptResult:
    """The result of a rehearsed step: what the original step ended with, else the node's
    sample output, else a null output marked "not simulated"."""
    would_send = without_key(ctx.input, ctx.idempotency_key)
    original = (replay.get("recorded") or {}).get(ctx.node.id)
    if original and original.get("status") in (StepStatus.SUCCEEDED, StepStatus.FAILED):
        differs = original.get("input") != would_send
        ctx.input = {"replay": SIMULATED, "would_send": would_send, "differs": differs}
        if original["status"] == StepStatus.FAILED:
            return AttemptResult(
                StepStatus.FAILED,
                error=original.get("error") or "This step failed in the replayed run.",
                retryable=False,
                error_type="replayed",
            )
        return AttemptResult(
            StepStatus.SUCCEEDED, output=original.get("output"), handle=original.get("handle")
        )
    sample = ctx.node.settings.sample_output
    if sample is not None:
        ctx.input = {"replay": SAMPLE, "would_send": would_send}
        return AttemptResult(StepStatus.SUCCEEDED, output=sample)
    ctx.input = {"replay": NOT_SIMULATED, "would_send": would_send}
    return AttemptResult(StepStatus.SUCCEEDED, output=None)
