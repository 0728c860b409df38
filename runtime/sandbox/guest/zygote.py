"""The Python zygote: runs INSIDE the sandbox and forks one fresh process per execution.

It is started by exec of a fresh ``python3 -I -S`` with an empty environment, so it never
holds anything of the worker: it only ever receives code and input. The host copies this
directory to a fresh read-only place for the sandbox and never imports these modules; they
use the standard library only (ctypes for the system calls Python 3.11 lacks).

Per execution the zygote forks C1, which gives the execution its own user, mount and PID
namespaces (a private /tmp and /dev/shm, no /proc), sets the rlimits, drops every
capability and stacks the strict seccomp filter; C1 forks C2, the PID 1 of the new
namespace, which forks C3 to run the user's code. When C2 exits (or C1 is killed, which
kills C2 through PDEATHSIG) the kernel kills everything left in the namespace, so a
daemonised child cannot outlive its execution.

Protocol (a SOCK_SEQPACKET control socket): the host sends ``{"op": "run", "id", "limits"}``
with four fds (request, logs, result, status) or ``{"op": "kill", "id"}``. On the status
fd the zygote writes ``started`` after forking and ``exit <code>`` once C1 is reaped
(negative codes are signals).
"""

import contextlib
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import sys
from pathlib import Path

# The sibling guest modules; with -I the script's directory is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
execute = importlib.import_module("execute")
isolation = importlib.import_module("isolation")

EXIT_PARENT_GONE = 115


def run_init(alive_r: int, limits: dict[str, int]) -> None:
    """C2: PID 1 of the execution's namespace. Runs C3, reaps orphans, exits with C3's code."""
    isolation.libc.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if _closed(alive_r):  # C1 died before PDEATHSIG was armed
        os._exit(EXIT_PARENT_GONE)
    pid = os.fork()
    if pid == 0:
        os.close(alive_r)
        execute.run_c3(limits, CONFIG["packages"], CONFIG["guest"])
    _release_stdio()
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(execute.EXIT_INTERNAL)
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _release_stdio() -> None:
    # Only C3 and its children may hold the execution's pipes, so that the host sees them
    # close the moment the code is done, without waiting for the namespace to be torn down.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2, 3):
        os.dup2(null, fd)
    os.close(null)


def _closed(fd: int) -> bool:
    import select

    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def run_c1(fds: list[int], limits: dict[str, int]) -> None:
    """The forked child of the zygote: isolate, limit, then start C2 and wait for it."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for target, fd in zip((0, 1, 2, 3), (fds[0], fds[1], fds[1], fds[2]), strict=True):
            os.dup2(fd, target)
        os.closerange(4, 1 << 20)
        os.setsid()
        namespaced = CONFIG["namespaces"] and isolation.enter_namespaces(limits, CONFIG["bwrap"])
        workdir = isolation.TMP if namespaced else _fallback_workdir(os.getpid())
        if not namespaced:
            workdir.mkdir(mode=0o700)
            os.environ["TMPDIR"] = str(workdir)
        os.chdir(workdir)
        isolation.set_limits(limits, namespaced)
        isolation.drop_capabilities()
        if STRICT_FILTER:
            isolation.load_seccomp(STRICT_FILTER)
        alive_r, alive_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(alive_w)
            run_init(alive_r, limits)
        os.close(alive_r)
        _release_stdio()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException as exc:
        os.write(2, f"[sandbox] execution setup failed: {exc!r}\n".encode())
        os._exit(execute.EXIT_INTERNAL)


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.running: dict[int, tuple[int, int]] = {}  # execution id -> (c1 pid, status fd)
        self.by_pid: dict[int, int] = {}  # c1 pid -> execution id
        self.selector = selectors.DefaultSelector()
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(wake_w)
        self.wake_r = wake_r
        self.selector.register(control, selectors.EVENT_READ, "control")
        self.selector.register(wake_r, selectors.EVENT_READ, "child")

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.data == "control" and not self.on_message():
                    return
                if key.data == "child":
                    self.reap()

    def on_message(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 65536, 8)
        except InterruptedError:
            return True
        if not data:
            return False  # the host is gone
        message = json.loads(data)
        if message["op"] == "run" and len(fds) == 4:
            self.start(message, fds)
        else:
            for fd in fds:
                os.close(fd)
            if message["op"] == "kill":
                self.kill(message["id"])
        return True

    def start(self, message: dict[str, object], fds: list[int]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            limits = message["limits"]
            # Narrowing for mypy only (no TypedDict without importing typing): the host
            # always sends {"op": "run", "id": int, "limits": {name: int}}.
            assert isinstance(limits, dict)
            run_c1(fds, limits)
        for fd in fds[:3]:
            os.close(fd)
        status_fd = fds[3]
        execution_id = message["id"]
        assert isinstance(execution_id, int)  # narrowing only, as above
        self.running[execution_id] = (pid, status_fd)
        self.by_pid[pid] = execution_id
        _tell(status_fd, "started")

    def kill(self, execution_id: int) -> None:
        entry = self.running.get(execution_id)
        if entry is not None:
            _kill_group(entry[0])

    def reap(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake_r, 4096):
                pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            execution_id = self.by_pid.pop(pid, None)
            if execution_id is None:
                continue  # an orphan adopted as subreaper; already killed
            _, status_fd = self.running.pop(execution_id)
            self.finish(pid)
            _tell(status_fd, f"exit {os.waitstatus_to_exitcode(status)}")
            os.close(status_fd)

    def finish(self, pid: int) -> None:
        """Kill whatever the execution left behind (only needed without namespaces)."""
        _kill_group(pid)
        if not CONFIG["namespaces_ok"]:
            kill_orphans(set(self.by_pid))
            shutil.rmtree(_fallback_workdir(pid), ignore_errors=True)


def _kill_group(pid: int) -> None:
    # C1 leads its own session/process group; killing the group reaches C2 and C3 even when
    # no PID namespace exists. With one, killing C1 alone would suffice (PDEATHSIG).
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def kill_orphans(keep: set[int]) -> None:
    """SIGKILL every child of the zygote that is not a running execution (adopted orphans)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in keep:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            _kill_group(int(entry.name))


def _tell(fd: int, text: str) -> None:
    # OSError: the host stopped listening (it timed out or already has the result).
    with contextlib.suppress(OSError):
        os.write(fd, text.encode() + b"\n")


def _fallback_workdir(pid: int) -> Path:
    """The private directory of execution ``pid`` when it has no mount namespace."""
    return Path(CONFIG["tmp"]) / f"exec-{pid}"


def _read_fd(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _preimport() -> None:
    # Modules every execution needs, or code steps commonly use, imported once here so each
    # fork inherits them. Not asyncio: its 6 MiB of heap make every fork ~1 ms slower.
    for name in ("datetime", "re", "traceback", "linecache", "types", "io", "collections.abc"):
        __import__(name)
    import gc

    # Objects created so far are never collected, so the collector never writes to (and
    # copies) the zygote's pages in a child.
    gc.collect()
    gc.freeze()


def main() -> None:
    global STRICT_FILTER
    if CONFIG.get("self_filter_fd") is not None:  # no bubblewrap: filter ourselves
        isolation.load_seccomp(_read_fd(CONFIG["self_filter_fd"]))
    if CONFIG.get("strict_fd") is not None:
        STRICT_FILTER = _read_fd(CONFIG["strict_fd"])
    # Without per-execution PID namespaces, orphans must come back to us to be killed.
    isolation.libc.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    CONFIG["namespaces_ok"] = CONFIG["namespaces"] and _namespaces_work()
    CONFIG["namespaces"] = CONFIG["namespaces_ok"]
    Path(CONFIG["tmp"]).mkdir(parents=True, exist_ok=True)
    _preimport()
    control = socket.socket(fileno=CONFIG["control_fd"])
    sys.stdout.write(json.dumps({"ready": True, "namespaces": CONFIG["namespaces_ok"]}) + "\n")
    sys.stdout.flush()
    Zygote(control).serve()


def _namespaces_work() -> bool:
    """Try the per-execution namespaces once, so a kernel without them degrades up front."""
    pid = os.fork()
    if pid == 0:
        try:
            ok = isolation.enter_namespaces({"tmp_mb": 1}, CONFIG["bwrap"])
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


STRICT_FILTER = b""
CONFIG = json.loads(sys.argv[-1]) if __name__ == "__main__" else {}

if __name__ == "__main__":
    main()
