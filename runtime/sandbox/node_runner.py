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
from .node_limits import apply_limits
from .outcome import classify
from .types import Limits, Result, SandboxError

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # cold Node in bwrap: 90-300 ms; a loaded 2-core CI box is slower
MAX_POOLED_SIZES = 2  # memory sizes (Node's heap flag is fixed at start) kept warm at once


@dataclass
class NodeProcess:
    """A started Node sandbox waiting for its one request."""

    process: subprocess.Popen[bytes]
    request_w: int
    log_r: int
    result_r: int
    node_pid: int  # the Node process itself, as the host sees it (for prlimit)
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
    config: SandboxConfig, bwrap: str | None, use_seccomp: bool, memory_mb: int
) -> NodeProcess:
    """Start one Node sandbox and wait until its runner is loaded and reading stdin."""
    req_r, req_w = os.pipe2(os.O_CLOEXEC)
    log_r, log_w = os.pipe2(os.O_CLOEXEC)
    res_r, res_w = os.pipe2(os.O_CLOEXEC)
    info_r, info_w = os.pipe2(os.O_CLOEXEC) if bwrap else (None, None)
    strict = seccomp.memfd(seccomp.STRICT) if use_seccomp else None
    workdir = None if bwrap else _fallback_workdir(config)
    guest = GUEST_MOUNT if bwrap else str(guest_dir())
    handler = f"{workdir or SANDBOX_TMP}/handler.mjs"
    command = [
        config.node,
        f"--max-old-space-size={memory_mb}",
        "--input-type=module",
        "-e",
        (guest_dir() / "node_runner.mjs").read_text(),
        "--",
        handler,
        str(res_w),
    ]
    if bwrap:
        binds = [(guest_dir(), guest), (config.runner_dir, RUNNER_MOUNT)]
        modules = f"{RUNNER_MOUNT}/{config.node_modules_dir.relative_to(config.runner_dir)}"
        command = bwrap_command(
            bwrap,
            command,
            seccomp_fd=strict,
            binds=binds,
            symlinks=[(modules, NODE_MODULES_MOUNT)],
            info_fd=info_w,
            extra_ro=config.extra_ro_paths,
        )
    elif strict is not None:
        # No bubblewrap to install the filter: the guest's launcher mode does, then execs.
        launcher = {"self_filter_fd": strict, "exec": command}
        command = [config.python, "-I", "-S", "-B", f"{guest}/zygote.py", json.dumps(launcher)]
    fds = [fd for fd in (res_w, strict, info_w) if fd is not None]
    try:
        process = popen_sandboxed(
            command,
            pass_fds=fds,
            stdin=req_r,
            stdout=log_w,
            stderr=log_w,
            cwd=workdir or "/",
            drop_root=not bwrap,
        )
    finally:
        close_quietly(req_r, log_w, res_w, strict, info_w)
    started = NodeProcess(process, req_w, log_r, res_r, process.pid, workdir)
    try:
        _wait_ready(started)
        if info_r is not None:
            started.node_pid = _node_pid(info_r)
    except BaseException:
        started.destroy()
        raise
    finally:
        close_quietly(info_r)
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


def _node_pid(info_r: int) -> int:
    """The host PID of Node: the only child of bubblewrap's init (``child-pid`` of --info-fd)."""
    raw = b""
    while chunk := os.read(info_r, 4096):
        raw += chunk
    init_pid = int(json.loads(raw)["child-pid"])
    children = Path(f"/proc/{init_pid}/task/{init_pid}/children")
    if children.exists():
        found = children.read_text().split()
        if found:
            return int(found[0])
    for entry in Path("/proc").iterdir():  # kernels without CONFIG_PROC_CHILDREN
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(init_pid):
            return int(entry.name)
    raise SandboxError("The Node sandbox's process could not be found.")


class NodeRunner:
    """Runs JavaScript executions on pre-started Node sandboxes; thread-safe."""

    def __init__(
        self, config: SandboxConfig, bwrap: str | None, use_seccomp: bool, spawner: Spawner
    ) -> None:
        self.config, self.bwrap, self.use_seccomp = config, bwrap, use_seccomp
        self.spawner = spawner
        self.lock = threading.Lock()
        self.ready: OrderedDict[int, list[NodeProcess]] = OrderedDict()
        self.closed = False

    def run(self, payload: bytes, limits: Limits, on_log: Callable[[str], None] | None) -> Result:
        node = self.take(limits.memory_mb)
        if node is None:
            node = self.spawner.call(lambda: self.spawn(limits.memory_mb))
        self.refill_later(limits.memory_mb)
        try:
            apply_limits(node.node_pid, limits, namespaced=self.bwrap is not None)
            watch = ExitWatch(node.process)
        except (OSError, ValueError):
            node.destroy()  # it died while waiting; nothing of the user's ran
            return self.run(payload, limits, on_log)
        try:
            raw: Raw = Exchange(
                request=payload,
                request_fd=node.request_w,
                log_fd=node.log_r,
                result_fd=node.result_r,
                watch=watch,
                limits=limits,
                on_log=on_log,
                kill=lambda: kill_process_group(node.process),
            ).run()
        finally:
            node.request_w = node.log_r = node.result_r = -1  # Exchange closed them
            close_quietly(watch.fd)
            node.destroy()
        return classify(raw, limits)

    def spawn(self, memory_mb: int) -> NodeProcess:
        return spawn_node(self.config, self.bwrap, self.use_seccomp, memory_mb)

    def take(self, memory_mb: int) -> NodeProcess | None:
        with self.lock:
            queue = self.ready.setdefault(memory_mb, [])
            self.ready.move_to_end(memory_mb)
            while queue:
                node = queue.pop(0)
                if node.alive():
                    return node
                node.destroy()
            return None

    def refill_later(self, memory_mb: int) -> None:
        self.spawner.submit(lambda: self.refill(memory_mb))

    def refill(self, memory_mb: int) -> None:
        """Top the pool for ``memory_mb`` up to its size; drop sizes no longer used."""
        stale: list[NodeProcess] = []
        with self.lock:
            while len(self.ready) > MAX_POOLED_SIZES:
                _, dropped = self.ready.popitem(last=False)
                stale.extend(dropped)
            missing = self.config.node_pool_size - len(self.ready.get(memory_mb, []))
        for node in stale:
            node.destroy()
        unwanted: list[NodeProcess] = []
        for _ in range(max(missing, 0)):
            try:
                node = self.spawn(memory_mb)
            except SandboxError:
                logger.exception("Could not pre-start a Node sandbox.")
                return
            with self.lock:
                if self.closed or memory_mb not in self.ready:
                    unwanted.append(node)
                else:
                    self.ready[memory_mb].append(node)
        for node in unwanted:
            node.destroy()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            nodes = [node for queue in self.ready.values() for node in queue]
            self.ready.clear()
        for node in nodes:
            node.destroy()
