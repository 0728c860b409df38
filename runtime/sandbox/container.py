"""Container-image functions: an unpacked image's root filesystem, run read-only under
bubblewrap, its entrypoint given the step's input on stdin (the OpenFaaS classic-watchdog
convention: stdin in, stdout out, stderr the logs, the exit status decides).

No container engine is involved. The sandbox is the code steps' (``launch.bwrap_command``'s
flags, the strict seccomp filter, uid 65534 on the host) with the image's root in place of
the host's ``/usr``: the image sees its own files, a private ``/tmp``, a read-only ``/dev``,
a ``/proc`` of its own PID namespace and nothing of the host but one static busybox at
``/.tributary/busybox``, which sets the rlimits inside the sandbox's user namespace (so that
``RLIMIT_NPROC`` counts this execution alone) and execs the entrypoint.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import signal
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from . import seccomp
from .api import default_sandbox
from .exchange import Exchange, ExitWatch, Raw
from .launch import SANDBOX_SHM, SANDBOX_TMP, SANDBOX_UID, close_quietly, kill_process_group
from .launch import popen_sandboxed as _popen
from .outcome import InvalidOutput, check_strings
from .types import MIB, Limits, SandboxError, SandboxUnavailable

LIMITER_MOUNT = "/.tributary/busybox"
# Mount points bubblewrap needs in the read-only root; the cache creates them at unpack.
MOUNT_POINTS = ("tmp", "proc", "dev")
OPEN_FILES = 1024
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
_OOM_MARKERS = ("out of memory", "cannot allocate memory", "memory exhausted", "outofmemory")


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # a non-zero exit status
    TIMEOUT = "timeout"
    OOM = "oom"
    KILLED = "killed"
    OUTPUT_TOO_LARGE = "output_too_large"
    INVALID_OUTPUT = "invalid_output"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ContainerSpec:
    """What to run: the unpacked root, the argv (entrypoint + command), the environment,
    the working directory and the user inside the sandbox."""

    rootfs: Path
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = "/"
    uid: int = SANDBOX_UID
    gid: int = SANDBOX_UID


@dataclass(frozen=True)
class ContainerResult:
    outcome: Outcome
    output: Any = None
    logs: str = ""
    error: str | None = None
    exit_code: int | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def limiter() -> Path:
    """The static busybox that sets the limits inside the sandbox (Debian: busybox-static)."""
    from .config import _setting

    return Path(str(_setting("TRIBUTARY_CONTAINER_BUSYBOX", "/bin/busybox")))


def check_runnable() -> str:
    """The bwrap path; raises SandboxUnavailable when images cannot run here. Unlike code
    steps there is no degraded mode: without bubblewrap an image would run on the host."""
    sandbox = default_sandbox()
    if not sandbox.bwrap:
        raise SandboxUnavailable(
            f"Container steps need bubblewrap, which cannot be used here: "
            f"{sandbox.bwrap_problem}. Install it (apt-get install bubblewrap)."
        )
    problem = static_problem(limiter())
    if problem:
        raise SandboxUnavailable(problem)
    return sandbox.bwrap


def container_problems() -> list[str]:
    """What keeps images from being fetched, unpacked or run here (empty when nothing)."""
    problems = []
    if not default_sandbox().bwrap:
        problems.append(f"bubblewrap cannot be used ({default_sandbox().bwrap_problem}).")
    for tool, purpose in (("skopeo", "pull and read images"), ("umoci", "unpack images")):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed ({purpose}).")
    problem = static_problem(limiter())
    if problem:
        problems.append(problem)
    return problems


@functools.cache  # checked on every run: read the file once per process
def static_problem(path: Path) -> str | None:
    """Why ``path`` is not a static executable that can run inside any image, or None."""
    hint = "install busybox-static (apt-get install busybox-static)"
    try:
        with path.open("rb") as handle:
            header = handle.read(64)
            if header[:4] != b"\x7fELF" or header[4] != 2:
                return f"{path} is not a 64-bit executable; {hint}."
            (phoff,) = struct.unpack_from("<Q", header, 32)
            phentsize, phnum = struct.unpack_from("<HH", header, 54)
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return f"{path} is missing; container steps cannot run: {hint}."
    for index in range(phnum):
        if struct.unpack_from("<I", table, index * phentsize)[0] == 3:  # PT_INTERP
            return f"{path} is dynamically linked, so it cannot run inside an image; {hint}."
    return None


def command(bwrap: str, spec: ContainerSpec, limits: Limits, seccomp_fd: int | None) -> list[str]:
    """The bubblewrap argv that runs ``spec`` read-only, offline, as an unprivileged user."""
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(spec.uid)]
    args += ["--gid", str(spec.gid), "--cap-drop", "ALL", "--die-with-parent"]
    args += ["--new-session", "--clearenv", "--hostname", "sandbox"]
    args += ["--ro-bind", str(spec.rootfs), "/", "--proc", "/proc"]
    args += ["--dev", "/dev", "--size", str(16 * MIB), "--tmpfs", SANDBOX_SHM]
    args += ["--remount-ro", "/dev"]
    args += ["--size", str(max(limits.tmp_mb, 1) * MIB), "--tmpfs", SANDBOX_TMP]
    args += ["--ro-bind", str(limiter()), LIMITER_MOUNT]
    args += ["--chdir", spec.working_dir]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    for name, value in spec.env.items():
        args += ["--setenv", name, value]
    return [*args, "--", LIMITER_MOUNT, "sh", "-c", _limits_script(limits), "image", *spec.argv]


def _limits_script(limits: Limits) -> str:
    """busybox sh: set the rlimits, then exec the entrypoint with its arguments."""
    settings = {
        "-t": max(1, limits.cpu_seconds),
        "-v": limits.memory_mb * 1024,  # RLIMIT_AS, KiB
        # Processes and threads of this user namespace: bubblewrap's init and the entrypoint.
        "-u": limits.max_processes + 2,
        "-f": limits.file_size_mb * 2048,  # 512-byte blocks
        "-n": OPEN_FILES,
        "-c": 0,
    }
    flags = " ".join(f"{flag} {value}" for flag, value in settings.items())
    return f'ulimit {flags} && exec "$@"'


def run_container(
    spec: ContainerSpec,
    stdin: bytes,
    limits: Limits,
    on_log: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> ContainerResult:
    """Run ``spec`` with ``stdin`` as its input; never raises for what the image does.

    Raises SandboxUnavailable when bubblewrap or the static busybox is missing, SandboxError
    when the sandbox cannot start. ``cancelled`` set while it runs kills the whole sandbox.
    """
    bwrap = check_runnable()
    if cancelled is not None and cancelled.is_set():
        return ContainerResult(Outcome.CANCELLED, error="Cancelled before it started.")
    sandbox = default_sandbox()
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    strict = seccomp.memfd(seccomp.STRICT) if sandbox.use_seccomp else None
    argv = command(bwrap, spec, limits, strict)
    fds = [fd for fd in (strict,) if fd is not None]

    def start() -> Any:
        return _popen(argv, pass_fds=fds, stdin=in_r, stdout=out_w, stderr=err_w, cwd="/")

    try:
        # From the spawner thread: --die-with-parent follows the thread that started it.
        process = sandbox.spawner.call(start)
    except OSError as exc:
        close_quietly(in_w, out_r, err_r)
        raise SandboxError(f"The container sandbox could not start: {exc}") from exc
    finally:
        close_quietly(in_r, out_w, err_w, strict)
    watch = ExitWatch(process)
    try:
        raw = Exchange(
            request=stdin,
            request_fd=in_w,
            log_fd=err_r,
            result_fd=out_r,
            watch=watch,
            limits=limits,
            on_log=on_log,
            kill=lambda: kill_process_group(process, wait=False),
            cancelled=cancelled,
            wait_for_exit=True,
        ).run()
    finally:
        close_quietly(watch.fd)
        kill_process_group(process)
    return classify(raw, limits, spec)


def classify(raw: Raw, limits: Limits, spec: ContainerSpec) -> ContainerResult:
    outcome, output, error = _decide(raw, limits, spec)
    return ContainerResult(
        outcome=outcome,
        output=output,
        logs=raw.logs,
        error=error,
        exit_code=raw.exit_code,
        duration_ms=raw.duration_ms,
    )


def _decide(raw: Raw, limits: Limits, spec: ContainerSpec) -> tuple[Outcome, Any, str | None]:
    if raw.cancelled:
        return Outcome.CANCELLED, None, "Cancelled while running"
    if raw.timed_out:
        message = f"The image ran longer than {limits.timeout_seconds:g} s and was stopped."
        return Outcome.TIMEOUT, None, message
    if raw.result_overflow:
        message = f"The image wrote more than {limits.output_bytes} bytes to stdout."
        return Outcome.OUTPUT_TOO_LARGE, None, message
    code = raw.exit_code
    if code == 0:
        try:
            return Outcome.OK, parse_stdout(raw.result), None
        except InvalidOutput as exc:
            return Outcome.INVALID_OUTPUT, None, str(exc)
    return _failure(raw, limits, spec)


def _failure(raw: Raw, limits: Limits, spec: ContainerSpec) -> tuple[Outcome, Any, str | None]:
    code = raw.exit_code
    last = _last_line(raw.logs)
    if last.startswith("bwrap:"):
        return Outcome.KILLED, None, f"The container sandbox could not start ({last})."
    signum = -code if code is not None and code < 0 else None
    if code is not None and code > 128:
        signum = code - 128  # bubblewrap reports a signal as 128 + n
    oom = any(marker in raw.logs.lower() for marker in _OOM_MARKERS)
    if signum == signal.SIGXCPU:
        return Outcome.TIMEOUT, None, f"The image used more than {limits.cpu_seconds} s of CPU."
    if oom:
        return Outcome.OOM, None, f"The image ran out of memory (limit {limits.memory_mb} MiB)."
    if signum:
        name = _signal_name(signum)
        return Outcome.KILLED, None, f"The image's process was killed ({name})."
    if code is None:
        return Outcome.KILLED, None, "The container sandbox stopped unexpectedly."
    entry = shlex.join(spec.argv[:1])
    if code == EXIT_NOT_FOUND and "not found" in last:
        return Outcome.FAILED, None, f"The entrypoint {entry} was not found in the image."
    if code == EXIT_NOT_EXECUTABLE:
        return Outcome.FAILED, None, f"The entrypoint {entry} cannot be executed ({last})."
    message = f"The image's process exited with status {code}"
    return Outcome.FAILED, None, f"{message}: {last}" if last else f"{message}."


def parse_stdout(body: bytes) -> Any:
    """stdout as JSON when it is JSON, else as text (None when empty)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidOutput("The image wrote something other than UTF-8 to stdout.") from exc
    if not text.strip():
        return None
    try:
        value: Any = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        value = text[:-1] if text.endswith("\n") else text
    check_strings(value)
    return value


def _not_json(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity: not JSON, so the output is kept as text


def _last_line(logs: str) -> str:
    lines = [line.strip() for line in logs.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
