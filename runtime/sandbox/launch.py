"""Starting sandboxed processes: the bubblewrap command line, or the degraded fallback.

Everything here runs on the host. A sandboxed process gets only its argv, a fixed tiny
environment and the fds named in ``pass_fds`` (``close_fds`` closes the worker's database
and broker sockets), never a view of the project tree, /root or /etc.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

# Inside a sandbox, /tmp is the sandbox's own private tmpfs, never the host's.
SANDBOX_TMP = "/tmp"  # noqa: S108 - see above
SANDBOX_SHM = "/dev/shm"  # noqa: S108 - idem, a small tmpfs of the sandbox's own
SANDBOX_UID = 65534  # "nobody": RLIMIT_NPROC is ignored for root, and root reads 0600 files
# The runner directory (declared packages) is mounted whole, read-only, so that a new
# install (swapped in by rename) is seen by sandboxes that are already running.
RUNNER_MOUNT = "/opt/tributary/runner"
PYTHON_PACKAGES_MOUNT = f"{RUNNER_MOUNT}/python"
# ESM resolves bare imports from node_modules beside or above the importing file, and the
# handler lives in /tmp: /node_modules is a symlink into the runner directory.
NODE_MODULES_MOUNT = "/node_modules"
SHM_MB = 16  # the sandbox's /dev/shm (each Python execution mounts its own, as large)
GUEST_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": SANDBOX_TMP, "TZ": "UTC"}
# Package directories of the system's own interpreters: hidden so that code steps see the
# standard library plus what an admin declared, not whatever Debian happens to ship.
_MASKED = ("/usr/lib/python3/dist-packages", "/usr/local/lib/python3", "/usr/lib/node_modules")

T = TypeVar("T")


def bwrap_command(
    bwrap: str,
    command: Sequence[str],
    *,
    seccomp_fd: int | None,
    binds: Sequence[tuple[Path, str]] = (),
    symlinks: Sequence[tuple[str, str]] = (),
    proc: bool = True,
    tmp_mb: int = 64,
    info_fd: int | None = None,
    extra_ro: Sequence[str] = (),
) -> list[str]:
    """The bubblewrap argv that runs ``command`` in a fresh, unprivileged, offline sandbox.

    ``proc=False`` gives no /proc at all (Node: nothing there is needed, and it would show
    the process's environment); the Python zygote needs one to build namespaces and hides
    it from each execution itself.
    """
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID)]
    args += ["--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--die-with-parent"]
    args += ["--new-session", "--clearenv", "--hostname", "sandbox"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/", name)
        if top.is_symlink():
            args += ["--symlink", str(top.readlink()), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for path in extra_ro:
        args += ["--ro-bind", path, path]
    for masked in _MASKED:
        if Path(masked).is_dir():
            args += ["--tmpfs", masked]
    if proc:
        args += ["--proc", "/proc"]
    # bubblewrap's /dev is a tmpfs the sandbox user may write, of half the RAM: files there
    # would escape the /tmp size. Read-only, with a small /dev/shm of its own.
    args += ["--dev", "/dev", "--size", str(SHM_MB * 1024 * 1024), "--tmpfs", SANDBOX_SHM]
    args += ["--remount-ro", "/dev"]
    args += ["--size", str(max(tmp_mb, 1) * 1024 * 1024), "--tmpfs", SANDBOX_TMP]
    for source, target in binds:
        if source.is_dir():
            args += ["--ro-bind", str(source), target]
    for link_target, link in symlinks:
        args += ["--symlink", link_target, link]
    args += ["--remount-ro", "/", "--chdir", SANDBOX_TMP]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    for name, value in GUEST_ENV.items():
        args += ["--setenv", name, value]
    return [*args, "--", *command]


def popen_sandboxed(
    argv: Sequence[str],
    *,
    pass_fds: Sequence[int],
    stdin: int | None,
    stdout: int | None,
    stderr: int | None,
    cwd: str,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with a clean environment, only ``pass_fds`` open, in its own session.

    A root worker starts it as uid/gid 65534 on the host. Inside bubblewrap's user
    namespace the sandbox is 65534 either way, but that id maps to the uid that started
    bubblewrap: started by root, sandboxed processes would be host root without
    capabilities, which still owns every root file and is exempt from RLIMIT_NPROC.
    """
    as_nobody = os.geteuid() == 0
    return subprocess.Popen(  # noqa: S603 - argv is built here from fixed paths, not input
        list(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        pass_fds=tuple(pass_fds),
        close_fds=True,
        env=dict(GUEST_ENV),
        cwd=cwd,
        start_new_session=True,
        user=SANDBOX_UID if as_nobody else None,
        group=SANDBOX_UID if as_nobody else None,
        extra_groups=[] if as_nobody else None,
    )


class Spawner:
    """A long-lived thread that starts every sandbox of this process.

    bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread* that started
    the sandbox ends, not the process: a sandbox started from a short-lived request thread
    would die with it. Starting them all from this thread ties them to the process.
    """

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sandbox-spawner"
        )

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the spawner thread and return its result."""
        return self._executor.submit(function).result()

    def submit(self, function: Callable[[], object]) -> concurrent.futures.Future[object]:
        return self._executor.submit(function)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def close_quietly(*fds: int | None) -> None:
    for fd in fds:
        if fd is not None and fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def kill_process_group(process: subprocess.Popen[bytes], *, wait: bool = True) -> None:
    """SIGKILL the sandbox's session and reap it (killing bwrap ends its PID namespace)."""
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()
    if wait:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


GUEST_MOUNT = "/opt/tributary/guest"
_GUEST_SOURCE = Path(__file__).with_name("guest")


@functools.cache
def guest_dir() -> Path:
    """A world-readable copy of the guest programs, made once per process.

    A copy, not the package directory itself: the sandbox (or, without bubblewrap, uid
    65534) must be able to read it, and must not see where the project lives.
    """
    target = Path(tempfile.mkdtemp(prefix="tributary-guest-"))
    for source in _GUEST_SOURCE.iterdir():
        if source.suffix in (".py", ".mjs"):
            shutil.copyfile(source, target / source.name)
            (target / source.name).chmod(0o644)
    target.chmod(0o755)
    atexit.register(_remove, target, os.getpid())
    return target


def _remove(path: Path, owner: int) -> None:
    # Forked children (Celery prefork) inherit atexit handlers; only the creator cleans up.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)
