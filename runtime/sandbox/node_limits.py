"""Resource limits of a Node sandbox, fixed when it starts (its pool is keyed by them).

Memory: Node aborts (SIGTRAP) at start under an RLIMIT_AS of a few hundred MiB because V8
reserves large address ranges it never touches. RLIMIT_DATA counts only memory that can
actually be written, so it works: V8's heap is capped by ``--max-old-space-size`` and
everything else (``Buffer``s included) by RLIMIT_DATA, which leaves room for what Node
itself uses (about 80 MiB of VmData at start).

Why at start and not per request with prlimit(2): the host may not be allowed to (a root
worker without CAP_SYS_RESOURCE cannot touch uid 65534's limits), and a sandbox must not be
able to raise them back. The CPU limit therefore includes Node's own start (~0.1 s).
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import MIB, Limits

NODE_DATA_OVERHEAD_MB = 192
# Threads count against RLIMIT_NPROC like processes. Node is started with 2 V8 workers and
# 2 libuv workers (started before any request), 7 threads in all, plus bubblewrap's init.
V8_POOL_SIZE = 2
UV_THREADPOOL_SIZE = 2
NODE_TASKS = 8
OPEN_FILES = 256


@dataclass(frozen=True)
class NodeLimits:
    """The part of Limits a Node sandbox is started with."""

    memory_mb: int
    cpu_seconds: int
    max_processes: int
    file_size_mb: int
    tmp_mb: int

    @classmethod
    def of(cls, limits: Limits) -> NodeLimits:
        return cls(
            limits.memory_mb,
            limits.cpu_seconds,
            limits.max_processes,
            limits.file_size_mb,
            limits.tmp_mb,
        )

    def rlimits(self) -> dict[str, int]:
        """Soft limits by name, for the guest launcher (hard = soft, CPU hard = soft + 1)."""
        return {
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_DATA": (self.memory_mb + NODE_DATA_OVERHEAD_MB) * MIB,
            "RLIMIT_NPROC": NODE_TASKS + self.max_processes,
            "RLIMIT_FSIZE": self.file_size_mb * MIB,
            "RLIMIT_NOFILE": OPEN_FILES,
            "RLIMIT_CORE": 0,
        }
