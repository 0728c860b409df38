"""Python executions: one zygote sandbox per worker process, one fresh fork per execution."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict

from . import seccomp
from .config import SandboxConfig
from .exchange import Exchange, Raw, StatusWatch
from .launch import (
    GUEST_MOUNT,
    PYTHON_PACKAGES_MOUNT,
    RUNNER_MOUNT,
    SANDBOX_TMP,
    SANDBOX_UID,
    Spawner,
    bwrap_command,
    close_quietly,
    guest_dir,
    kill_process_group,
    popen_sandboxed,
)
from .outcome import PYTHON_EXIT_OOM, classify
from .types import CodeResult, Limits, SandboxError

logger = logging.getLogger(__name__)

START_TIMEOUT = 20.0  # a cold bwrap + python3 takes 20-90 ms; leave room for a loaded host


class Zygote:
    """One running zygote sandbox and the control socket the host talks to it through."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        control: socket.socket,
        info: dict,
        workdir: str | None,
    ) -> None:
        self.process = process
        self.control = control
        self.namespaces = bool(info.get("namespaces"))
        self.workdir = workdir  # the fallback's directory on the host, removed at stop
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: dict, fds: list[int]) -> None:
        data = json.dumps(message).encode()
        with self.lock:
            socket.send_fds(self.control, [data], fds)

    def kill(self, execution_id: int) -> None:
        # OSError: the zygote is gone, and its sandbox with every execution in it.
        with contextlib.suppress(OSError):
            self.send({"op": "kill", "id": execution_id}, [])

    def stop(self) -> None:
        kill_process_group(self.process)
        self.control.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_zygote(config: SandboxConfig, bwrap: str | None, use_seccomp: bool) -> Zygote:
    """Start a zygote and wait until it is ready. Raise SandboxError if it cannot start."""
    host_end, guest_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote_filter = seccomp.memfd(seccomp.ZYGOTE) if use_seccomp else None
    strict_filter = seccomp.memfd(seccomp.STRICT) if use_seccomp else None
    out_r, out_w = os.pipe()
    guest = str(guest_dir()) if not bwrap else GUEST_MOUNT
    packages = str(config.python_packages_dir) if not bwrap else PYTHON_PACKAGES_MOUNT
    workdir = SANDBOX_TMP if bwrap else _fallback_workdir()
    guest_config = {
        "control_fd": guest_end.fileno(),
        "strict_fd": strict_filter,
        "self_filter_fd": None if bwrap else zygote_filter,
        "packages": packages,
        "guest": guest,
        "namespaces": config.per_execution_namespaces,
        "bwrap": bool(bwrap),
        "tmp": workdir,
    }
    command = [config.python, "-I", "-S", "-B", f"{guest}/zygote.py", json.dumps(guest_config)]
    if bwrap:
        binds = [(guest_dir(), GUEST_MOUNT), (config.runner_dir, RUNNER_MOUNT)]
        command = bwrap_command(
            bwrap,
            command,
            seccomp_fd=zygote_filter,
            binds=binds,
            extra_ro=config.extra_ro_paths,
        )
    fds = [fd for fd in (guest_end.fileno(), zygote_filter, strict_filter) if fd is not None]
    try:
        process = popen_sandboxed(
            command,
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            cwd="/" if bwrap else workdir,
        )
    finally:
        close_quietly(out_w, zygote_filter, strict_filter)
        guest_end.close()
    info = _wait_ready(process, out_r)
    threading.Thread(target=_drain, args=(out_r,), name="zygote-output", daemon=True).start()
    return Zygote(process, host_end, info, None if bwrap else workdir)


def _fallback_workdir() -> str:
    path = tempfile.mkdtemp(prefix="tributary-zygote-")
    if os.geteuid() == 0:
        os.chown(path, SANDBOX_UID, SANDBOX_UID)
    return path


def _wait_ready(process: subprocess.Popen[bytes], out_r: int) -> dict:
    """Read the zygote's ``{"ready": true, ...}`` line, or fail with what it printed."""
    received = b""
    while b"\n" not in received:
        readable, _, _ = select.select([out_r], [], [], START_TIMEOUT)
        chunk = os.read(out_r, 65536) if readable else b""
        if not chunk:
            kill_process_group(process)
            os.close(out_r)
            text = received.decode("utf-8", "replace").strip() or "no output"
            raise SandboxError(f"The Python sandbox did not start: {text}")
        received += chunk
    line, _, rest = received.partition(b"\n")
    if rest:
        logger.warning("Python sandbox: %s", rest.decode("utf-8", "replace").rstrip())
    try:
        info = json.loads(line)
    except ValueError:
        info = None
    if not isinstance(info, dict) or not info.get("ready"):
        kill_process_group(process)
        os.close(out_r)
        text = received.decode("utf-8", "replace").strip()
        raise SandboxError(f"The Python sandbox did not start: {text}")
    return info


def _drain(fd: int) -> None:
    # The zygote's own output is only diagnostics: log them, and keep the pipe from filling.
    with os.fdopen(fd, "rb") as stream:
        for line in stream:
            logger.warning("Python sandbox: %s", line.decode("utf-8", "replace").rstrip())


class PythonRunner:
    """Runs Python executions on this process's zygote; safe to call from many threads."""

    def __init__(
        self, config: SandboxConfig, bwrap: str | None, use_seccomp: bool, spawner: Spawner
    ) -> None:
        self.config, self.bwrap, self.use_seccomp = config, bwrap, use_seccomp
        self.spawner = spawner
        self.lock = threading.Lock()
        self.zygote: Zygote | None = None
        self.ids = itertools.count(1)

    def run(
        self,
        payload: bytes,
        limits: Limits,
        on_log: Callable[[str], None] | None,
        cancelled: threading.Event | None = None,
    ) -> CodeResult:
        """Run one execution; ``cancelled`` set while it runs kills it (Ending.CANCELLED)."""
        raw = Raw()
        for _attempt in range(2):
            zygote = self.current()
            raw = self.execute(zygote, payload, limits, on_log, cancelled)
            if raw.hung:
                self.discard(zygote)
            if raw.started or raw.cancelled:
                break  # user code ran (never run it twice), or the caller gave up
        return classify(raw, limits, oom_exit=PYTHON_EXIT_OOM)

    def current(self) -> Zygote:
        """The live zygote, started (again) if there is none or it died."""
        with self.lock:
            if self.zygote is None or not self.zygote.alive():
                if self.zygote is not None:
                    logger.warning("The Python sandbox zygote died; starting a new one.")
                    self.zygote.stop()
                self.zygote = self.spawner.call(
                    lambda: start_zygote(self.config, self.bwrap, self.use_seccomp)
                )
            return self.zygote

    def discard(self, zygote: Zygote) -> None:
        with self.lock:
            if self.zygote is zygote:
                self.zygote = None
        logger.warning("The Python sandbox zygote stopped responding; restarting it.")
        zygote.stop()

    def execute(
        self,
        zygote: Zygote,
        payload: bytes,
        limits: Limits,
        on_log: Callable[[str], None] | None,
        cancelled: threading.Event | None = None,
    ) -> Raw:
        execution_id = next(self.ids)
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(4)]
        (req_r, req_w), (log_r, log_w), (res_r, res_w), (st_r, st_w) = pipes
        message = {"op": "run", "id": execution_id, "limits": asdict(limits)}
        try:
            zygote.send(message, [req_r, log_w, res_w, st_w])
        except OSError:
            close_quietly(req_w, log_r, res_r, st_r)
            return Raw(hung=True)
        finally:
            close_quietly(req_r, log_w, res_w, st_w)
        watch = StatusWatch(st_r)
        try:
            return Exchange(
                request=payload,
                request_fd=req_w,
                log_fd=log_r,
                result_fd=res_r,
                watch=watch,
                limits=limits,
                on_log=on_log,
                kill=lambda: zygote.kill(execution_id),
                cancelled=cancelled,
            ).run()
        finally:
            if not watch.finished:
                # Returned on the result alone: whatever still runs (code that reported and
                # went on, or hung) goes now, with its namespace.
                zygote.kill(execution_id)
            close_quietly(st_r)

    def close(self) -> None:
        with self.lock:
            if self.zygote is not None:
                self.zygote.stop()
                self.zygote = None
