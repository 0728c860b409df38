"""The host side of one execution: feed the request, collect logs and the result, enforce time.

Everything read from the sandbox is untrusted and bounded: logs by ``log_bytes`` (the rest
is drained and counted), the result channel by ``output_bytes`` (beyond it the execution is
killed). The wall-clock deadline is enforced here, whatever the code does with signals, and
so is cancellation: the caller's ``cancelled`` event kills the execution within
``CANCEL_POLL`` of being set.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .logs import LogCollector
from .types import Limits

# After the process ended, how long to wait for its pipes to close (a grandchild may hold
# them for a moment while the kernel tears the namespace down).
DRAIN_GRACE = 1.0
# After a kill was requested, how long before the sandbox is declared hung.
KILL_GRACE = 3.0
# Error messages and tracebacks travel on the result channel too.
RESULT_SLACK = 64 * 1024
# How often a cancellable execution looks at its event: a threading.Event has no file
# descriptor to wait on beside the pipes, and 20 wake-ups a second cost nothing.
CANCEL_POLL = 0.05


class StatusWatch:
    """The zygote's per-execution status pipe: ``started`` then ``exit <code>``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.started = False
        self.finished = False
        self.exit_code: int | None = None

    def on_readable(self) -> None:
        data = os.read(self.fd, 4096)
        if not data:
            self.finished = True
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            word, _, value = line.decode("ascii", "replace").partition(" ")
            if word == "started":
                self.started = True
            elif word == "exit":
                self.exit_code = int(value)


class ExitWatch:
    """A whole sandbox process (Node): finished when it exits."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.fd = os.pidfd_open(process.pid)
        self.started = True
        self.finished = False
        self.exit_code: int | None = None

    def on_readable(self) -> None:
        self.exit_code = self.process.wait()
        self.finished = True


@dataclass
class Raw:
    """What the host observed; ``outcome.classify`` turns it into a CodeResult."""

    logs: str = ""
    result: bytes = b""
    result_overflow: bool = False
    timed_out: bool = False
    cancelled: bool = False
    started: bool = False
    hung: bool = False  # did not start or did not die when told: restart the sandbox
    exit_code: int | None = None
    duration_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


class Exchange:
    """Run the I/O loop of one execution; the caller owns nothing it passed in afterwards."""

    def __init__(
        self,
        *,
        request: bytes,
        request_fd: int,
        log_fd: int,
        result_fd: int,
        watch: StatusWatch | ExitWatch,
        limits: Limits,
        on_log: Callable[[str], None] | None,
        kill: Callable[[], None],
        cancelled: threading.Event | None = None,
        start_timeout: float = 5.0,
        wait_for_exit: bool = False,
    ) -> None:
        self.pending = memoryview(request)
        self.request_fd = request_fd
        self.log_fd, self.result_fd = log_fd, result_fd
        self.watch, self.limits, self.kill = watch, limits, kill
        self.cancelled = cancelled
        self.start_timeout = start_timeout
        # A container's exit status decides its outcome: closing stdout is not the end.
        self.wait_for_exit = wait_for_exit
        self.logs = LogCollector(limits.log_bytes, on_log)
        self.result = bytearray()
        self.result_cap = limits.output_bytes + RESULT_SLACK
        self.raw = Raw()
        self.selector = selectors.DefaultSelector()
        self.kill_at: float | None = None
        self.result_done = False

    def run(self) -> Raw:
        begin = time.monotonic()
        try:
            self._register()
            self._loop(begin)
        finally:
            self.selector.close()
            for fd in (self.request_fd, self.log_fd, self.result_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.raw.logs = self.logs.finish()
        self.raw.result = bytes(self.result)
        self.raw.started = self.watch.started
        self.raw.exit_code = self.watch.exit_code
        self.raw.duration_ms = (time.monotonic() - begin) * 1000
        return self.raw

    def _register(self) -> None:
        for fd in (self.request_fd, self.log_fd, self.result_fd):
            os.set_blocking(fd, False)
        self.selector.register(self.request_fd, selectors.EVENT_WRITE, self._write_request)
        self.selector.register(self.log_fd, selectors.EVENT_READ, self._read_logs)
        self.selector.register(self.result_fd, selectors.EVENT_READ, self._read_result)
        self.selector.register(self.watch.fd, selectors.EVENT_READ, self._on_watch)

    def _loop(self, begin: float) -> None:
        deadline = begin + self.limits.timeout_seconds
        finished_at: float | None = None
        while True:
            now = time.monotonic()
            if self.result and self.result_done and self.kill_at is None and not self.wait_for_exit:
                # The runner reported and closed the result channel after everything the
                # code printed: finish without waiting for the sandbox to be torn down.
                self._drain_logs()
                return
            if self.watch.finished:
                finished_at = finished_at or now
                if not self._reading() or now - finished_at > DRAIN_GRACE:
                    return
            elif (self.kill_at is not None and now - self.kill_at > KILL_GRACE) or (
                not self.watch.started and now - begin > self.start_timeout
            ):
                self.raw.hung = True
                return
            if self.kill_at is None and self.cancelled is not None and self.cancelled.is_set():
                self.raw.cancelled = True
                self._kill(now)
            elif self.kill_at is None and now >= deadline:
                self.raw.timed_out = True
                self._kill(now)
            wakes = [deadline if self.kill_at is None else self.kill_at + KILL_GRACE]
            if self.cancelled is not None and self.kill_at is None:
                wakes.append(now + CANCEL_POLL)
            if finished_at is not None:
                wakes.append(finished_at + DRAIN_GRACE)
            if not self.watch.started:
                wakes.append(begin + self.start_timeout)
            for key, _ in self.selector.select(max(min(wakes) - now, 0.0)):
                key.data()

    def _reading(self) -> bool:
        registered = self.selector.get_map()
        return self.log_fd in registered or self.result_fd in registered

    def _kill(self, now: float) -> None:
        self.kill_at = now
        self.kill()

    def _write_request(self) -> None:
        try:
            written = os.write(self.request_fd, self.pending[: 1 << 16])
        except BlockingIOError:
            return
        except OSError:
            written = len(self.pending)  # the process is gone or closed its input
        self.pending = self.pending[written:]
        if not self.pending:
            self.selector.unregister(self.request_fd)
            os.close(self.request_fd)
            self.request_fd = -1

    def _read_logs(self) -> None:
        data = self._read(self.log_fd)
        if data:
            self.logs.feed(data)

    def _read_result(self) -> None:
        data = self._read(self.result_fd)
        if data is None:
            return
        self.result_done = not data
        self.result += data
        if len(self.result) > self.result_cap:
            self.raw.result_overflow = True
            del self.result[self.result_cap :]
            self.selector.unregister(self.result_fd)
            if self.kill_at is None:
                self._kill(time.monotonic())

    def _drain_logs(self) -> None:
        while self.log_fd in self.selector.get_map():
            data = self._read(self.log_fd)
            if not data:
                return
            self.logs.feed(data)

    def _read(self, fd: int) -> bytes | None:
        """The next chunk, b"" at end of file (and unregisters), None if nothing yet."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return None
        if not data:
            self.selector.unregister(fd)
        return data

    def _on_watch(self) -> None:
        self.watch.on_readable()
        if self.watch.finished:
            self.selector.unregister(self.watch.fd)
