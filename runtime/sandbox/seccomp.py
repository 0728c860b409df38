"""Seccomp filters, compiled to BPF with libseccomp (through the ``pyseccomp`` ctypes binding).

Why libseccomp rather than hand-written BPF: it resolves syscall names per architecture,
checks the audit arch (so the i386 and x32 entry points cannot bypass the list) and
compiles argument comparisons correctly. Why ``pyseccomp`` rather than Debian's
``python3-seccomp``: the worker runs in a virtualenv whose Python cannot import the Debian
extension, while ``pyseccomp`` only needs the ``libseccomp2`` shared library, which every
Debian/Ubuntu system has (systemd depends on it).

Two filters exist. ``ZYGOTE`` is what the long-lived Python zygote runs under: everything
dangerous is denied except the namespace and mount calls the zygote needs to give each
execution its own namespaces. ``STRICT`` adds those, and is what user code runs under
(Node directly through bubblewrap; Python stacked on top of ZYGOTE by each execution).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import os
import tempfile
from typing import Any

# Denied everywhere: kernel attack surface no code step needs, and ways to reach other
# processes' memory or file descriptors.
_DENIED = (
    "socket",  # no network, no unix sockets either: opening any socket fails with EPERM
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "open_by_handle_at",
    "name_to_handle_at",
    "iopl",
    "ioperm",
    "fanotify_init",
    "syslog",
    "vhangup",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "uselib",
    "mbind",
    "migrate_pages",
    "move_pages",
    "set_mempolicy",
)
# ENOSYS instead of EPERM so libc and libuv fall back to the older calls (this is how
# Docker and Chromium treat clone3: its flags live in memory, which seccomp cannot read).
_UNIMPLEMENTED = ("clone3", "io_uring_setup", "io_uring_enter", "io_uring_register")
# Needed by the zygote to build each execution's namespaces; denied to user code.
_NAMESPACE_CALLS = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
)
_CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
_TIOCSTI = 0x5412  # fakes terminal input; there is no terminal, deny it anyway

ZYGOTE = "zygote"
STRICT = "strict"


def _load() -> Any:
    """The pyseccomp module, or None when it or libseccomp cannot be loaded."""
    try:
        # pyseccomp ships no type information; through importlib it is simply Any.
        return importlib.import_module("pyseccomp")
    except (ImportError, OSError, AttributeError):
        return None


def available() -> bool:
    """Whether filters can be compiled here."""
    try:
        return bool(compile_filter(STRICT))
    except SeccompUnavailable:
        return False


class SeccompUnavailable(RuntimeError):
    """libseccomp or its binding is missing."""


@functools.cache
def compile_filter(kind: str) -> bytes:
    """The BPF program for ``kind`` (ZYGOTE or STRICT), as bwrap ``--seccomp`` reads it."""
    sc = _load()
    if sc is None:
        raise SeccompUnavailable("pyseccomp/libseccomp2 is not installed")
    flt = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    for name in _DENIED:
        _add(sc, flt, eperm, name)
    for name in _UNIMPLEMENTED:
        _add(sc, flt, sc.ERRNO(errno.ENOSYS), name)
    flt.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    if kind == STRICT:
        for name in _NAMESPACE_CALLS:
            _add(sc, flt, eperm, name)
        for flag in _CLONE_NAMESPACE_FLAGS:
            flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def _add(sc: Any, flt: Any, action: Any, name: str) -> None:
    # A name this architecture does not have (iopl on arm64, ...) cannot be called anyway.
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        flt.add_rule(action, name)


def memfd(kind: str) -> int:
    """A close-on-exec memfd holding the BPF for ``kind``, positioned at 0.

    The caller passes it to the sandbox (``bwrap --seccomp FD``) and closes it afterwards.
    """
    data = compile_filter(kind)
    fd = os.memfd_create(f"tributary-seccomp-{kind}")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
