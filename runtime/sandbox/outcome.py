"""Turning what the host observed into a CodeResult, and checking the output is storable JSON.

The result channel is written by the sandboxed process, so it is parsed as hostile input:
a tag byte (O output, E error, I invalid output, L too large, M out of memory) and JSON.
"""

from __future__ import annotations

import json
import signal
from typing import Any

from .exchange import Raw
from .types import CodeResult, Ending, Limits

PYTHON_EXIT_OOM = 113  # the Python runner's "MemoryError while reporting MemoryError"
CANCELLED_MESSAGE = "Cancelled while running"
_OOM_LOG_MARKERS = ("heap out of memory", "Fatal process out of memory", "MemoryError")


class InvalidOutput(ValueError):
    """The output is not JSON that can be stored (NaN/Infinity, NUL, lone surrogates)."""


def classify(raw: Raw, limits: Limits, oom_exit: int | None = None) -> CodeResult:
    """The CodeResult for ``raw``: the first of timeout, overflow, reported result, exit status.

    ``oom_exit``: the exit code the runner uses for running out of memory, if any.
    """
    outcome, output, error, trace = _decide(raw, limits, oom_exit)
    return CodeResult(
        outcome=outcome,
        output=output,
        logs=raw.logs,
        error=error,
        traceback=trace,
        duration_ms=raw.duration_ms,
    )


def _decide(
    raw: Raw, limits: Limits, oom_exit: int | None
) -> tuple[Ending, Any, str | None, str | None]:
    if raw.cancelled:
        return Ending.CANCELLED, None, CANCELLED_MESSAGE, None
    if raw.timed_out:
        message = f"The code ran longer than {limits.timeout_seconds:g} s and was stopped."
        return Ending.TIMEOUT, None, message, None
    if raw.result_overflow:
        return Ending.OUTPUT_TOO_LARGE, None, _too_large(None, limits), None
    tag, body = raw.result[:1], raw.result[1:]
    if tag == b"O":
        try:
            return Ending.OK, parse_output(body), None, None
        except InvalidOutput as exc:
            return Ending.INVALID_OUTPUT, None, str(exc), None
    if tag == b"L":
        return Ending.OUTPUT_TOO_LARGE, None, _too_large(body, limits), None
    if tag == b"M":
        return Ending.OOM, None, _oom(limits), None
    if tag in (b"E", b"I"):
        report = _report(body)
        outcome = Ending.ERROR if tag == b"E" else Ending.INVALID_OUTPUT
        return outcome, None, report.get("message"), report.get("traceback")
    return _from_exit(raw, limits, oom_exit)


def _from_exit(
    raw: Raw, limits: Limits, oom_exit: int | None
) -> tuple[Ending, Any, str | None, str | None]:
    code = raw.exit_code
    signum = -code if code is not None and code < 0 else None
    if code is not None and code > 128:
        signum = code - 128  # the runner's init and bwrap report a signal as 128 + n
    if signum == signal.SIGXCPU:
        return (
            Ending.TIMEOUT,
            None,
            f"The code used more than {limits.cpu_seconds} s of CPU.",
            None,
        )
    if (oom_exit is not None and code == oom_exit) or (
        signum and any(m in raw.logs for m in _OOM_LOG_MARKERS)
    ):
        return Ending.OOM, None, _oom(limits), None
    if raw.hung:
        return Ending.KILLED, None, "The sandbox stopped responding and was restarted.", None
    if signum:
        name = _signal_name(signum)
        return Ending.KILLED, None, f"The code's process was killed ({name}).", None
    if code is None:
        return Ending.KILLED, None, "The sandbox stopped unexpectedly.", None
    message = f"The code's process exited (status {code}) before the handler returned."
    return Ending.ERROR, None, message, None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _oom(limits: Limits) -> str:
    return f"The code ran out of memory (limit {limits.memory_mb} MiB)."


def _too_large(size: bytes | None, limits: Limits) -> str:
    shown = f"{int(size)} bytes" if size and size.isdigit() else "larger than the limit"
    return f"The output is {shown}; the limit is {limits.output_bytes} bytes."


def _report(body: bytes) -> dict[str, str | None]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return {"message": "The code's process reported an unreadable error."}
    if not isinstance(data, dict):
        return {"message": "The code's process reported an unreadable error."}
    message, trace = data.get("message"), data.get("traceback")
    return {
        "message": str(message) if message is not None else "Unknown error.",
        "traceback": str(trace) if trace else None,
    }


def _reject_constant(name: str) -> Any:
    raise InvalidOutput(f"The output contains {name}, which is not valid JSON.")


def parse_output(body: bytes) -> Any:
    """Decode the handler's JSON output; raise InvalidOutput for anything not storable."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except InvalidOutput:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidOutput("The output is not valid UTF-8.") from exc
    except RecursionError as exc:
        raise InvalidOutput("The output is nested too deeply.") from exc
    except ValueError as exc:
        raise InvalidOutput(f"The output is not valid JSON: {exc}.") from exc
    check_strings(value)
    return value


def check_strings(value: Any) -> None:
    """Raise InvalidOutput for a string in ``value`` that cannot be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise InvalidOutput(
            "The output contains a NUL character (\\u0000), which cannot be stored."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidOutput(
            "The output contains a lone surrogate, which cannot be stored."
        ) from exc
