"""The entry points the step executors call: ``run_code`` and ``sandbox_status``."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import seccomp
from .config import SandboxConfig, from_settings
from .launch import Spawner, bwrap_command
from .node_limits import NodeLimits
from .node_runner import NodeRunner
from .outcome import CANCELLED_MESSAGE
from .python_runner import PythonRunner
from .types import CodeResult, Ending, Limits, SandboxError, SandboxUnavailable

LANGUAGES = ("python", "javascript")


class Sandbox:
    """Runs code steps under one configuration; starts nothing until first used.

    One instance serves any number of threads. It belongs to the process that created it:
    ``run_code`` makes a new one in a forked child (Celery prefork) on first use.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        # Created up front so it can be mounted into sandboxes before any install.
        config.runner_dir.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.use_seccomp = seccomp.available()
        self.bwrap, self.bwrap_problem = _probe_bwrap(config)
        self.spawner = Spawner()
        self.python = PythonRunner(config, self.bwrap, self.use_seccomp, self.spawner)
        self.node = NodeRunner(config, self.bwrap, self.use_seccomp, self.spawner)

    def run(
        self,
        language: str,
        source: str,
        event: dict[str, Any],
        context: dict[str, Any],
        limits: Limits | None = None,
        on_log: Callable[[str], None] | None = None,
        cancelled: threading.Event | None = None,
    ) -> CodeResult:
        """Run ``handler(event, context)`` from ``source``; see ``run_code``."""
        limits = limits or Limits()
        self.check_runnable(language)
        if cancelled is not None and cancelled.is_set():
            return CodeResult(Ending.CANCELLED, error=CANCELLED_MESSAGE)
        request: dict[str, Any] = {"source": source, "event": event, "context": context}
        if language == "javascript":
            request["output_bytes"] = limits.output_bytes
        try:
            payload = json.dumps(request, allow_nan=False, ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"event and context must be JSON-serialisable: {exc}") from exc
        runner = self.python if language == "python" else self.node
        return runner.run(payload, limits, on_log, cancelled)

    def check_runnable(self, language: str) -> None:
        """Raise SandboxError unless ``language`` can run under this configuration."""
        if language not in LANGUAGES:
            raise ValueError(f"Unknown language {language!r}; expected one of {LANGUAGES}.")
        if self.config.require_sandbox and not self.bwrap:
            raise SandboxUnavailable(
                "TRIBUTARY_CODE_REQUIRE_SANDBOX is on but bubblewrap cannot be used: "
                f"{self.bwrap_problem}. Install it (apt-get install bubblewrap)."
            )
        binary = self.config.python if language == "python" else self.config.node
        if not os.access(binary, os.X_OK):
            raise SandboxError(f"{binary} is not installed; {language} code steps cannot run.")

    def warm_up(self) -> None:
        """Start the Python zygote and the Node pool now instead of on first use."""
        if os.access(self.config.python, os.X_OK):
            self.python.current()
        if os.access(self.config.node, os.X_OK):
            self.node.refill_later(NodeLimits.of(Limits()))

    def status(self) -> dict[str, Any]:
        """What isolation is in force here, with a warning per missing layer."""
        return sandbox_report(self)

    def close(self) -> None:
        """Stop every sandbox process this instance started."""
        self.spawner.shutdown()
        self.python.close()
        self.node.close()


def _probe_bwrap(config: SandboxConfig) -> tuple[str | None, str]:
    """The bwrap path if a trivial sandbox really starts (user namespaces may be disabled)."""
    path = config.bwrap_path()
    if path is None:
        return None, f"{config.bwrap or 'bwrap'} is not installed or disabled"
    command = bwrap_command(path, ["/usr/bin/true"], seccomp_fd=None)
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv built by bwrap_command
            command, capture_output=True, timeout=20, env={}, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{path} cannot run ({exc})"
    if completed.returncode != 0:
        problem = completed.stderr.decode("utf-8", "replace").strip() or "no message"
        return None, f"{path} fails: {problem}"
    return path, ""


# Without bubblewrap, only the launcher's own PID namespace holds what Node starts.
_NODE_CHILDREN_LEAK = (
    " Programs a JavaScript step starts in a session of their own can outlive the step."
)


def sandbox_report(sandbox: Sandbox) -> dict[str, Any]:
    config = sandbox.config
    warnings = []
    if not sandbox.bwrap:
        warnings.append(
            f"bubblewrap is not available ({sandbox.bwrap_problem}): code steps run without "
            "filesystem, network and PID isolation, as uid 65534 if the worker is root, "
            "otherwise as the worker's own user. Install bubblewrap."
        )
    if not sandbox.use_seccomp:
        warnings.append(
            "seccomp filtering is unavailable (needs the pyseccomp package and libseccomp2): "
            "code steps can use every system call."
        )
    if not _readable_by_sandbox(config.runner_dir):
        warnings.append(
            f"The runner directory {config.runner_dir} (declared packages) must be readable "
            "and its parents searchable by uid 65534, which sandboxes run as on the host "
            "when the worker is root; sandboxes cannot start until it is."
        )
    for name, binary in (("Python", config.python), ("Node.js", config.node)):
        if not os.access(binary, os.X_OK):
            warnings.append(f"{name} is not installed at {binary}; its code steps cannot run.")
    zygote = sandbox.python.zygote
    namespaces = zygote.namespaces if zygote is not None else None
    if namespaces is False:
        warnings.append(
            "The kernel refused nested user namespaces: Python executions share the "
            "zygote's /tmp mount (each gets a private directory) and leftover processes are "
            "swept by the zygote instead of dying with a PID namespace."
            + ("" if sandbox.bwrap else _NODE_CHILDREN_LEAK)
        )
    return {
        "bubblewrap": sandbox.bwrap is not None,
        # None until the Python zygote has started and tried them.
        "per_execution_namespaces": namespaces,
        "seccomp": sandbox.use_seccomp,
        "required": config.require_sandbox,
        "python": config.python,
        "node": config.node,
        "runner_dir": str(config.runner_dir),
        "warnings": warnings,
    }


def _readable_by_sandbox(path: Path) -> bool:
    """Whether "others" may list ``path`` and search every parent (only matters as root)."""
    if os.geteuid() != 0:
        return True
    path = path.resolve()
    if path.exists() and path.stat().st_mode & 0o005 != 0o005:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


_default: Sandbox | None = None
_default_lock = threading.Lock()


def _forget_after_fork() -> None:
    # A forked child (Celery prefork) must not wait on a lock another thread of its parent
    # held at fork time, nor use the parent's pools.
    global _default, _default_lock
    _default, _default_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def default_sandbox() -> Sandbox:
    """This process's sandbox for the project's settings (a fresh one after a fork)."""
    global _default
    config = from_settings()
    with _default_lock:
        if _default is None or _default.pid != os.getpid() or _default.config != config:
            if _default is not None and _default.pid == os.getpid():
                _default.close()  # the settings changed (tests, reloads)
            _default = Sandbox(config)
        return _default


def run_code(
    language: str,
    source: str,
    event: dict[str, Any],
    context: dict[str, Any],
    limits: Limits | None = None,
    on_log: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> CodeResult:
    """Run a code step's ``handler(event, context)`` in the sandbox and return its CodeResult.

    ``language`` is "python" or "javascript". Never raises for anything the code does
    (errors, hangs, crashes and bad output are Results). Raises SandboxUnavailable when a
    sandbox is required but bubblewrap cannot be used, SandboxError when the interpreter is
    missing or cannot start, and ValueError for an unknown language or an event/context
    that is not JSON-serialisable. ``on_log`` gets each printed line as it is printed, on
    the calling thread. ``cancelled``, when set (from any thread) before or while the code
    runs, kills the execution's whole process tree within about 50 ms and returns
    ``Ending.CANCELLED``; an execution that already returned keeps its result.
    """
    return default_sandbox().run(language, source, event, context, limits, on_log, cancelled)


def sandbox_status() -> dict[str, Any]:
    """``{"bubblewrap": bool, "seccomp": bool, "required": bool, "warnings": [...], ...}``."""
    return default_sandbox().status()


def warm_up() -> None:
    """Start this process's Python zygote and Node pool now (e.g. when a worker starts)."""
    default_sandbox().warm_up()
