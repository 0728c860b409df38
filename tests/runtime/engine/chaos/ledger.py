"""The ledger: a payment API on 127.0.0.1 that records every raw delivery and acts once per
``Idempotency-Key`` (a repeated key gets the first delivery's answer, as Stripe does).

Each delivery is stamped with when it arrived and which process sent it. The sender is
found the way ``ss -p`` finds it: the connection's socket inode in /proc/net/tcp, then the
process among the stack's workers holding that inode. The lookup happens as soon as the
request is read, while the sender still waits for the answer; a sender killed in the
milliseconds before that is recorded as unknown (pid 0).

Every answer is held back for a moment (``hold``) so that faults land during the effect.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Delivery:
    """One request as it reached the ledger."""

    key: str
    order: int
    pid: int  # the sending process, 0 when it was gone before it could be identified
    arrived: float  # time.time()
    answered: float | None = None  # when the answer was written; None while held
    answer_lost: bool = False  # the sender hung up (it died) before the answer reached it


@dataclass
class Effect:
    """What the ledger did once for a key: the receipt every delivery of it is answered."""

    key: str
    order: int
    receipt: int


@dataclass
class Ledger:
    """Deliveries (raw) and effects (deduplicated by key); thread-safe."""

    # The pids that may be sending: the workers' processes, once they exist.
    senders: Callable[[], Iterable[int]] = tuple
    hold: tuple[float, float] = (0.1, 0.5)  # seconds each answer is held back
    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    held: list[Delivery] = field(default_factory=list)  # those whose answer is held back
    effects: dict[str, Effect] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def receive(self, key: str, order: int, client_port: int) -> tuple[Delivery, Effect]:
        delivery = Delivery(key, order, sender_pid(client_port, self.port, self.senders()), 0)
        with self.lock:
            delivery.arrived = time.time()
            self.deliveries.append(delivery)
            self.held.append(delivery)
            if key not in self.effects:
                self.effects[key] = Effect(key, order, receipt=len(self.effects) + 1)
            return delivery, self.effects[key]

    def answered(self, delivery: Delivery, *, lost: bool) -> None:
        with self.lock:
            delivery.answered, delivery.answer_lost = time.time(), lost
            self.held.remove(delivery)

    def in_flight(self) -> list[Delivery]:
        """Deliveries whose answer is still held back: their sender is mid-effect."""
        with self.lock:
            return [delivery for delivery in self.held if delivery.pid]


def start_ledger(ledger: Ledger) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            order = int(json.loads(self.rfile.read(length))["order"])
            key = self.headers.get("Idempotency-Key", "")
            delivery, effect = ledger.receive(key, order, self.client_address[1])
            time.sleep(random.uniform(*ledger.hold))  # noqa: S311 - not cryptography
            data = json.dumps({"receipt": effect.receipt}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:  # the sender was killed while its answer was held
                ledger.answered(delivery, lost=True)
            else:
                ledger.answered(delivery, lost=False)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # bursts of workers must not wait for SYN retries

    server = Server(("127.0.0.1", ledger.port), Handler)
    ledger.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="ledger", daemon=True).start()
    return server


def sender_pid(client_port: int, server_port: int, candidates: Iterable[int]) -> int:
    """The pid among ``candidates`` that holds the TCP connection from 127.0.0.1:client_port
    to our server_port, or 0."""
    inode = _socket_inode(client_port, server_port)
    if inode is None:
        return 0
    link = f"socket:[{inode}]"
    for pid in candidates:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:  # it exited meanwhile
            continue
        for fd in fds:
            try:
                if fd.readlink().name == link:
                    return pid
            except OSError:
                continue
    return 0


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the client end of the connection, from /proc/net/tcp (hex ports)."""
    wanted = (f"{local_port:04X}", f"{remote_port:04X}")
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        columns = line.split()
        local, remote = columns[1].split(":")[1], columns[2].split(":")[1]
        if (local, remote) == wanted:
            return columns[9]
    return None


def process_tree(roots: Iterable[int]) -> list[int]:
    """``roots`` and all their descendants (a Celery worker and its pool children)."""
    found: list[int] = []
    pending = list(roots)
    while pending:
        pid = pending.pop()
        found.append(pid)
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                continue
    return found
