"""The values callers pass to and get back from the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MIB = 1024 * 1024


class Ending(StrEnum):
    """How an execution ended. Only ``ok`` carries an output."""

    OK = "ok"
    ERROR = "error"  # the code raised, or the runtime refused what it did
    TIMEOUT = "timeout"  # wall-clock or CPU time ran out
    OOM = "oom"  # the memory limit was reached
    KILLED = "killed"  # the process died without saying why (a signal, a crash)
    OUTPUT_TOO_LARGE = "output_too_large"
    INVALID_OUTPUT = "invalid_output"  # not JSON, NaN/Infinity, or a NUL character
    CANCELLED = "cancelled"  # the caller's ``cancelled`` event was set: stopped at once


@dataclass(frozen=True)
class Limits:
    """Resource limits of one execution; every one is enforced by the OS or the host."""

    timeout_seconds: float = 30.0
    memory_mb: int = 256
    cpu_seconds: int = 30
    output_bytes: int = MIB
    log_bytes: int = 256 * 1024
    max_processes: int = 16
    file_size_mb: int = 16
    # Size of the execution's private /tmp (a tmpfs, so it is memory too).
    tmp_mb: int = 64

    def __post_init__(self) -> None:
        for name in ("timeout_seconds", "memory_mb", "cpu_seconds", "output_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive.")
        for name in ("log_bytes", "max_processes", "file_size_mb", "tmp_mb"):
            if getattr(self, name) < 0:
                raise ValueError(f"Limits.{name} must not be negative.")


@dataclass(frozen=True)
class CodeResult:
    """What one execution produced.

    ``output`` is the handler's JSON return value when ``outcome`` is ``ok`` (else None).
    ``logs`` is everything the code printed (stdout and stderr interleaved), truncated with
    a marker at ``Limits.log_bytes``. ``error`` is a one-line message for the user and
    ``traceback`` shows the user's frames only.
    """

    outcome: Ending
    output: Any = None
    logs: str = ""
    error: str | None = None
    traceback: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Ending.OK


class SandboxError(RuntimeError):
    """The sandbox is misconfigured; no user code ran. Never raised for what the code does."""


class SandboxUnavailable(SandboxError):
    """A sandbox is required (TRIBUTARY_CODE_REQUIRE_SANDBOX) but bubblewrap cannot be used."""
