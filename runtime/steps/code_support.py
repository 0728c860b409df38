"""What the two code-step kinds share: their config schema and the call into the sandbox,
turning each sandbox outcome into an output or a failure the user can read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime.kinds.contract import StepContext, StepError, StepOutput, code
from runtime.sandbox import Ending, Limits, run_code
from runtime.tracing import spans

MAX_INPUT_SHOWN = 256 * 1024
MAX_SOURCE_CHARS = 256 * 1024  # the code field's maxLength


@dataclass(frozen=True)
class CodeProblem:
    """Why a code step's source cannot run, and where (1-based line and column): the
    designer marks the spot while the user types, and Save says the same sentence."""

    line: int
    column: int
    message: str
    error: str = ""  # "SyntaxError", "IndentationError"...; empty for a missing handler

    def __str__(self) -> str:
        if not self.error:
            return self.message
        return f"{self.error} on line {self.line}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": str(self)}


# Per trigger kind: what its event.trigger is, and the part a step usually starts from
# (key, variable name). A starter that reads it tells the user where the data is.
TRIGGER_DATA: dict[str, tuple[str, str | None, str]] = {
    "trigger.webhook": (
        "the request that called the URL: method, query, headers, body",
        "body",
        "body",
    ),
    "trigger.cron": (
        "the schedule's firing: scheduled_for, fired_at, expression, timezone",
        "scheduled_for",
        "scheduled_for",
    ),
    "trigger.event": ("the event: type, payload, emitted_at", "payload", "payload"),
    "trigger.dbchange": (
        "the row change: table, operation, new, old, changed_columns",
        "new",
        "row",
    ),
    "trigger.queue": ("the message: body, headers, metadata", "body", "body"),
    "trigger.manual": ("the JSON the run was started with", None, "payload"),
}


def code_schema(language: str, starter: str, starters: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["source"],
        "properties": {
            "source": code(language, starter, starters),
            "secrets": {
                "type": "array",
                "title": "Secrets the code may read",
                "uniqueItems": True,
                "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,99}$"},
                "x-widget": "secrets",
                "description": 'Available as context["secrets"][NAME]; redacted from logs.',
            },
            "memory_mb": {
                "type": "integer",
                "title": "Memory (MB)",
                "minimum": 32,
                "maximum": 2048,
                "default": 256,
            },
        },
    }


def run_in_sandbox(language: str, ctx: StepContext) -> StepOutput:
    """Run ``handler(event, context)`` in the sandbox; StepError for anything but ok.

    A cancelled run (``ctx.cancelled`` set) stops the code within a fraction of a second:
    StepError("Cancelled while running", retryable=False).
    """
    secrets = {name: ctx.secrets[name] for name in ctx.config.get("secrets", [])}
    event = ctx.event_data()
    ctx.input = _shown_input(event)
    timeout = max(0.1, min(ctx.node.settings.timeout_seconds, ctx.remaining()))
    limits = Limits(
        timeout_seconds=timeout,
        cpu_seconds=max(1, int(timeout) + 1),
        memory_mb=ctx.config.get("memory_mb", 256),
    )
    # The span stays in this process: the sandboxed code gets no trace context, no
    # exporter and no OTEL_* variable (its environment is fixed, runtime.sandbox.launch).
    attributes = {"tributary.code.language": language}
    with spans.child_span("code.execute", "internal", attributes) as span:
        result = run_code(
            language,
            ctx.config["source"],
            event,
            ctx.info | {"secrets": secrets},
            limits=limits,
            on_log=ctx.on_log,
            # Set by the heartbeat when the run is cancelled: the sandbox kills the code at
            # once instead of letting it run to its timeout.
            cancelled=ctx.cancelled,
        )
        span.set("tributary.code.outcome", str(result.outcome))
    ctx.logs.extend(result.logs.splitlines())
    if result.outcome == Ending.OK:
        return StepOutput(result.output)
    raise _failure(result, limits, ctx.node.settings.timeout_seconds)


def _failure(result: Any, limits: Limits, timeout: float) -> StepError:
    message = result.error or result.outcome
    match result.outcome:
        case Ending.ERROR:
            return StepError(message, detail=result.traceback or "")
        case Ending.TIMEOUT:
            return StepError(
                f"Timed out after {timeout:g} s (the step's timeout); the code was stopped.",
                timeout=True,
            )
        case Ending.CANCELLED:
            return StepError(message, retryable=False)
        case Ending.OOM:
            return StepError(
                f"Out of memory (limit {limits.memory_mb} MB): {message}", retryable=False
            )
        case _:  # killed, output too large, invalid output: retrying will not help
            return StepError(message, detail=result.traceback or "", retryable=False)


def _shown_input(event: dict[str, Any]) -> Any:
    """The event the handler received, as shown on the run page (summarised when huge)."""
    if len(json.dumps(event)) <= MAX_INPUT_SHOWN:
        return event
    return {
        "trigger": "(the run's input)",
        "steps": sorted(event.get("steps", {})),
        "note": "The event was too large to keep here.",
    }
