"""Resource limits for a pre-started Node process, applied from the host with prlimit(2).

The limits of an execution are only known when its request arrives, long after the pooled
Node process started, so the host sets them on the running process (it is blocked reading
its request, so no user code has run yet).

Memory: Node aborts (SIGTRAP) at start under an RLIMIT_AS of a few hundred MiB because V8
reserves large address ranges it never touches. RLIMIT_DATA counts only memory that can
actually be written, so it works: V8's heap is capped by ``--max-old-space-size`` (set at
start) and everything else, ``Buffer``s included, by RLIMIT_DATA = what Node already uses
plus ``memory_mb``.
"""

from __future__ import annotations

import math
import os
import resource
from pathlib import Path

from .types import MIB, Limits

# Threads Node may still start on demand (libuv's pool of 4, and a spare), which count
# against RLIMIT_NPROC like processes do.
NODE_LAZY_THREADS = 6
OPEN_FILES = 256


def apply_limits(pid: int, limits: Limits, *, namespaced: bool) -> None:
    """Lower the rlimits of Node process ``pid`` for one execution.

    ``namespaced``: the process is alone in its user namespace, so RLIMIT_NPROC counts only
    its own tasks; otherwise it counts every task of its uid on the host.
    """
    status = _status(pid)
    used_cpu = _cpu_seconds(pid)
    cpu = math.ceil(used_cpu) + limits.cpu_seconds
    data = int(status["VmData"].split()[0]) * 1024 + limits.memory_mb * MIB
    tasks = int(status["Threads"]) + (1 if namespaced else _tasks_of_uid(pid))
    nproc = tasks + NODE_LAZY_THREADS + limits.max_processes
    fsize = limits.file_size_mb * MIB
    for which, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_DATA, (data, data)),
        (resource.RLIMIT_NPROC, (nproc, nproc)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES)),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.prlimit(pid, which, value)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _tasks_of_uid(pid: int) -> int:
    """Tasks of ``pid``'s uid on the host (what RLIMIT_NPROC counts without a namespace)."""
    uid = Path(f"/proc/{pid}").stat().st_uid
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    total += sum(1 for _ in (entry / "task").iterdir())
            except OSError:
                continue
    return total
