"""Isolation primitives of the sandbox guest: seccomp, capabilities, namespaces, rlimits.

Runs INSIDE the sandbox under Debian's ``python3 -I -S``; standard library and ctypes only.
"""

import ctypes
import os
import resource
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22
PR_SET_CHILD_SUBREAPER, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 36, 47, 4
SECCOMP_MODE_FILTER = 2
CAP_VERSION_3 = 0x20080522

# Each execution gets fresh, private ones of these (tmpfs in its own mount namespace).
TMP = "/tmp"  # noqa: S108 - a private tmpfs of this execution, not a shared /tmp
SHM = "/dev/shm"  # noqa: S108 - idem

libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_char_p))


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def load_seccomp(bpf: bytes) -> None:
    """Install a BPF filter (8-byte instructions) on this process; it is inherited."""
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    prog = _SockFprog(len(bpf) // 8, bpf)
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def drop_capabilities() -> None:
    """Empty the effective, permitted and inheritable sets (a new user namespace grants all)."""
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.capset(header, data), "capset")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, options: str | None
) -> None:
    _check(
        libc.mount(
            source and source.encode(),
            target.encode(),
            fstype and fstype.encode(),
            flags,
            options and options.encode(),
        ),
        f"mount {target}",
    )


def _kept_flags(path: str) -> int:
    """The mount flags of ``path`` a remount must repeat: a less privileged mount namespace
    may add restrictions (read-only) but the kernel refuses any remount that drops one."""
    current = os.statvfs(path).f_flag
    kept = 0
    for st_flag, ms_flag in (
        (2, MS_NOSUID),
        (4, MS_NODEV),
        (8, MS_NOEXEC),
        (1024, 1024),
        (2048, 2048),
        (4096, 1 << 21),
    ):  # noatime, nodiratime, relatime
        if current & st_flag:
            kept |= ms_flag
    return kept


def enter_namespaces(limits: dict[str, int], in_bwrap: bool) -> bool:
    """Give this process (C1) its own user, mount and PID namespaces. False if unsupported."""
    if not _unshare_mapped(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID):
        return False
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    private = MS_NOSUID | MS_NODEV
    _mount("tmpfs", TMP, "tmpfs", private, f"size={max(limits['tmp_mb'], 1)}m,mode=1777")
    if Path(SHM).is_dir():
        _mount("tmpfs", SHM, "tmpfs", private | MS_NOEXEC, "size=16m,mode=1777")
    if in_bwrap:
        # bubblewrap's /dev is a tmpfs the sandbox user owns: shared by every execution.
        _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags("/dev"), None)
    # The zygote's /proc would list (and expose the memory of) concurrent executions; a
    # fresh procfs cannot be mounted in a nested user namespace, so hide it entirely.
    _mount("tmpfs", "/proc", "tmpfs", MS_RDONLY | private | MS_NOEXEC, "size=4k,mode=555")
    return True


def enter_user_and_pid_namespaces() -> bool:
    """Give this process's future children their own PID namespace (its first child is its
    PID 1), in a user namespace of their own. False if the kernel refuses."""
    return _unshare_mapped(CLONE_NEWUSER | CLONE_NEWPID)


def _unshare_mapped(flags: int) -> bool:
    """unshare(flags), CLONE_NEWUSER among them, keeping our own uid and gid inside."""
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(flags) != 0:
        return False
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    return True


def count_my_tasks() -> int:
    """Tasks (processes and threads) of this uid: what RLIMIT_NPROC counts without a userns."""
    uid, total = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    total += sum(1 for _ in (entry / "task").iterdir())
            except OSError:
                continue
    return total


def set_limits(limits: dict[str, int], namespaced: bool) -> None:
    mib = 1024 * 1024
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_mb"] * mib,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # C1 and C2 count too. Without a user namespace the count is per host uid.
    base = 2 if namespaced else count_my_tasks() + 1
    resource.setrlimit(resource.RLIMIT_NPROC, (base + limits["max_processes"],) * 2)


def set_named_limits(limits: dict[str, int], per_uid: bool) -> None:
    """Set ``{"RLIMIT_X": soft}`` (hard = soft; CPU hard = soft + 1, for SIGXCPU first).

    ``per_uid``: no user namespace of our own, so RLIMIT_NPROC counts every task of the
    uid on the host; allow that many more.
    """
    for name, soft in limits.items():
        if name == "RLIMIT_NPROC" and per_uid:
            soft += count_my_tasks()
        hard = soft + 1 if name == "RLIMIT_CPU" else soft
        resource.setrlimit(getattr(resource, name), (soft, hard))
