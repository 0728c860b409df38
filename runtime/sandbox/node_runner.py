"""JavaScript executions: a small pool of pre-started, single-use Node sandboxes.

Node cannot fork a warm copy of itself, so each execution takes a Node process that was
started ahead of time (each in its own bubblewrap sandbox) and is waiting for its request;
a replacement is started in the background. A used sandbox is always killed whole.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import seccomp
from .config import SandboxConfig
from .exchange import Exchange, ExitWatch, Raw
from .launch import (
    GUEST_MOUNT,
    NODE_MODULES_MOUNT,
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
from .node_limits import UV_THREADPOOL_SIZE, V8_POOL_SIZE, NodeLimits
from .outcome import classify
from .types import CodeResult, Limits, SandboxError

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # cold Node in bwrap: 90-300 ms; a loaded 2-core CI box is slower
# Node sandboxes start with their limits fixed (see node_limits): kinds of Limits kept warm.
MAX_POOLED_KINDS = 2


@dataclass
class NodeProcess:
    """A started Node sandbox waiting for its one request."""

    process: subprocess.Popen[bytes]
    request_w: int
    log_r: int
    result_r: int
    workdir: str | None  # the fallback's private directory, removed after use

    def alive(self) -> bool:
        return self.process.poll() is None

    def destroy(self) -> None:
        """Kill the sandbox and release everything; safe to call twice."""
        kill_process_group(self.process)
        close_quietly(self.request_w, self.log_r, self.result_r)
        # -1, so that a second call cannot close fd numbers another thread reuses meanwhile.
        self.request_w = self.log_r = self.result_r = -1
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def spawn_node(
    config: SandboxConfig, bwrap: str | None, use_seccomp: bool, limits: NodeLimits
) -> NodeProcess:
    """Start one Node sandbox and wait until its runner is loaded and reading stdin.

    Node is started by the guest launcher (``guest/launcher.py``), which sets the rlimits
    and execs it; without bubblewrap it also loads the seccomp filter and, where the kernel
    allows, gives Node a PID namespace of its own, so that Node's children die with it.
    """
    req_r, req_w = os.pipe2(os.O_CLOEXEC)
    log_r, log_w = os.pipe2(os.O_CLOEXEC)
    res_r, res_w = os.pipe2(os.O_CLOEXEC)
    strict = seccomp.memfd(seccomp.STRICT) if use_seccomp else None
    workdir = None if bwrap else _fallback_workdir(config)
    guest = GUEST_MOUNT if bwrap else str(guest_dir())
    node = [config.node, f"--max-old-space-size={limits.memory_mb}", "--input-type=module"]
    node += [f"--v8-pool-size={V8_POOL_SIZE}"]
    node += ["-e", (guest_dir() / "node_runner.mjs").read_text()]
    node += ["--", f"{workdir or SANDBOX_TMP}/handler.mjs", str(res_w)]
    launcher = {
        "exec": node,
        "rlimits": limits.rlimits(),
        "env": {"UV_THREADPOOL_SIZE": str(UV_THREADPOOL_SIZE)},
        "bwrap": bool(bwrap),
        "namespaces": config.per_execution_namespaces,
        "self_filter_fd": None if bwrap else strict,
    }
    command = [config.python, "-I", "-S", "-B", f"{guest}/launcher.py", json.dumps(launcher)]
    if bwrap:
        modules = f"{RUNNER_MOUNT}/{config.node_modules_dir.relative_to(config.runner_dir)}"
        command = bwrap_command(
            bwrap,
            command,
            seccomp_fd=strict,
            binds=[(guest_dir(), guest), (config.runner_dir, RUNNER_MOUNT)],
            symlinks=[(modules, NODE_MODULES_MOUNT)],
            proc=False,
            tmp_mb=limits.tmp_mb,
            extra_ro=config.extra_ro_paths,
        )
    fds = [fd for fd in (res_w, strict) if fd is not None]
    try:
        process = popen_sandboxed(
            command, pass_fds=fds, stdin=req_r, stdout=log_w, stderr=log_w, cwd=workdir or "/"
        )
    finally:
        close_quietly(req_r, log_w, res_w, strict)
    started = NodeProcess(process, req_w, log_r, res_r, workdir)
    try:
        _wait_ready(started)
    except BaseException:
        started.destroy()
        raise
    return started


def _fallback_workdir(config: SandboxConfig) -> str:
    # Node resolves bare imports from node_modules next to (or above) the importing file.
    path = tempfile.mkdtemp(prefix="tributary-node-")
    Path(path, "node_modules").symlink_to(config.node_modules_dir)  # may not exist yet
    if os.geteuid() == 0:
        os.chown(path, SANDBOX_UID, SANDBOX_UID)
    return path


def _wait_ready(started: NodeProcess) -> None:
    readable, _, _ = select.select([started.result_r], [], [], START_TIMEOUT)
    if not readable or os.read(started.result_r, 1) != b"R":
        logs = b""
        while select.select([started.log_r], [], [], 0.2)[0]:
            chunk = os.read(started.log_r, 65536)
            if not chunk:
                break
            logs += chunk
        text = logs.decode("utf-8", "replace").strip()[-2000:] or "no output"
        raise SandboxError(f"The Node sandbox did not start: {text}")


class NodeRunner:
    """Runs JavaScript executions on pre-started Node sandboxes; thread-safe."""

    def __init__(
        self, config: SandboxConfig, bwrap: str | None, use_seccomp: bool, spawner: Spawner
    ) -> None:
        self.config, self.bwrap, self.use_seccomp = config, bwrap, use_seccomp
        self.spawner = spawner
        self.lock = threading.Lock()
        self.ready: OrderedDict[NodeLimits, list[NodeProcess]] = OrderedDict()
        self.closed = False

    def run(
        self,
        payload: bytes,
        limits: Limits,
        on_log: Callable[[str], None] | None,
        cancelled: threading.Event | None = None,
    ) -> CodeResult:
        """Run one execution; ``cancelled`` set while it runs kills it (Ending.CANCELLED)."""
        key = NodeLimits.of(limits)
        node = self.take(key)
        if node is None:
            node = self.spawner.call(lambda: self.spawn(key))
        self.refill_later(key)
        watch = ExitWatch(node.process)
        try:
            raw: Raw = Exchange(
                request=payload,
                request_fd=node.request_w,
                log_fd=node.log_r,
                result_fd=node.result_r,
                watch=watch,
                limits=limits,
                on_log=on_log,
                kill=lambda: kill_process_group(node.process, wait=False),
                cancelled=cancelled,
            ).run()
        finally:
            node.request_w = node.log_r = node.result_r = -1  # Exchange closed them
            close_quietly(watch.fd)
            node.destroy()
        return classify(raw, limits)

    def spawn(self, key: NodeLimits) -> NodeProcess:
        return spawn_node(self.config, self.bwrap, self.use_seccomp, key)

    def take(self, key: NodeLimits) -> NodeProcess | None:
        with self.lock:
            queue = self.ready.setdefault(key, [])
            self.ready.move_to_end(key)
            while queue:
                node = queue.pop(0)
                if node.alive():
                    return node
                node.destroy()
            return None

    def refill_later(self, key: NodeLimits) -> None:
        self.spawner.submit(lambda: self.refill(key))

    def refill(self, key: NodeLimits) -> None:
        """Top the pool for ``key`` up to its size; drop the least recently used keys."""
        stale: list[NodeProcess] = []
        with self.lock:
            while len(self.ready) > MAX_POOLED_KINDS:
                _, dropped = self.ready.popitem(last=False)
                stale.extend(dropped)
            missing = self.config.node_pool_size - len(self.ready.get(key, []))
        for node in stale:
            node.destroy()
        unwanted: list[NodeProcess] = []
        for _ in range(max(missing, 0)):
            if self.closed:
                return  # closed while refilling: its runner directory may be gone already
            try:
                node = self.spawn(key)
            except SandboxError:
                logger.exception("Could not pre-start a Node sandbox.")
                return
            with self.lock:
                if self.closed or key not in self.ready:
                    unwanted.append(node)
                else:
                    self.ready[key].append(node)
        for node in unwanted:
            node.destroy()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            nodes = [node for queue in self.ready.values() for node in queue]
            self.ready.clear()
        for node in nodes:
            node.destroy()
