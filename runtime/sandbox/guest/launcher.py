"""The Node launcher: runs INSIDE the sandbox, sets Node's limits and starts it.

Under bubblewrap it sets the rlimits and execs Node: the sandbox's PID namespace already
belongs to this one execution, and its PID 1 (bubblewrap's) dies with the host's handle
on it (``--die-with-parent``), taking every process Node started with it.

Without bubblewrap it gives Node the same guarantee when the kernel allows unprivileged
user namespaces: it enters a user and PID namespace of its own, forks their PID 1 (an
init that dies with the launcher, reaps orphans and exits with Node's status) and the
init starts Node. The host kills the launcher; the kernel then kills everything left in
the namespace. Its user namespace also makes RLIMIT_NPROC count this execution alone.
"""

import importlib
import json
import os
import signal
import sys
from pathlib import Path

# The sibling guest modules; with -I the script's directory is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
isolation = importlib.import_module("isolation")

EXIT_PARENT_GONE = 115
EXIT_INTERNAL = 114
# Tasks of this execution's user namespace besides Node's: the launcher and the init, where
# bubblewrap has only its PID 1 (which node_limits budgets for).
EXTRA_TASKS = 1


def main(config: dict) -> None:
    if config["bwrap"]:
        isolation.set_named_limits(config["rlimits"], per_uid=False)
        _exec_node(config)
    contained = config["namespaces"] and isolation.enter_user_and_pid_namespaces()
    if contained:
        isolation.drop_capabilities()  # the new user namespace granted them all
    if config["self_filter_fd"] is not None:  # loaded after unshare, which it denies
        isolation.load_seccomp(_read_fd(config["self_filter_fd"]))
    limits = dict(config["rlimits"])
    if contained:
        limits["RLIMIT_NPROC"] += EXTRA_TASKS
    isolation.set_named_limits(limits, per_uid=not contained)
    if not contained:
        _exec_node(config)  # degraded: the host can only kill Node's process group
    _wait_for(_start_init(config))


def _exec_node(config: dict) -> None:
    os.environ.update(config["env"])
    os.execv(config["exec"][0], config["exec"])  # noqa: S606 - fixed argv from the host


def _start_init(config: dict) -> int:
    """Fork PID 1 of the new namespace; it runs Node. Only Node keeps the host's pipes."""
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        _run_init(config, alive_r)
    os.close(alive_r)
    _release_fds(keep=alive_w)  # held until the launcher dies: the init's lifeline
    return pid


def _run_init(config: dict, alive_r: int) -> None:
    """PID 1: start Node, reap whatever is orphaned, exit with Node's status."""
    try:
        isolation.libc.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if _closed(alive_r):  # the launcher died before PDEATHSIG was armed
            os._exit(EXIT_PARENT_GONE)
        os.close(alive_r)
        node = os.fork()
        if node == 0:
            _exec_node(config)
        _release_fds()
        _wait_for(node)
    except BaseException:
        os._exit(EXIT_INTERNAL)


def _wait_for(pid: int) -> None:
    """Reap children until ``pid`` ends, then exit with its status (a signal as 128 + n)."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(EXIT_INTERNAL)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _release_fds(keep: int = -1) -> None:
    """Close every fd but ``keep``; 0-2 become /dev/null.

    The host sees Node's pipes (request, logs, result) close when Node and its children
    are done only if nothing else holds them.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    if keep < 3:
        os.closerange(3, 1 << 20)
    else:
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 20)


def _closed(fd: int) -> bool:
    import select

    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def _read_fd(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


if __name__ == "__main__":
    main(json.loads(sys.argv[-1]))
