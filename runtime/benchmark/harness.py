"""The stack a benchmark measures, started by the benchmark itself: a scratch database on
the configured PostgreSQL (dropped afterwards) with the web server, a Celery worker serving
every queue and the scheduler on the configured Redis; or, with --embedded, one embedded
server on a scratch SQLite database. Every process runs with runtime.benchmark.settings.
A scenario may swap the worker for pools of its own (start_worker, stop_processes)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psycopg
from django.conf import settings
from django.db import connection

from runtime.benchmark import QUEUE_PREFIX

ROOT = Path(settings.BASE_DIR)
PASSWORD = secrets.token_urlsafe(16)


@dataclass
class Stack:
    embedded: bool
    log_dir: Path
    # Processes (threads when embedded) of the worker serving every queue: steps at once.
    worker_slots: int = 0
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    scratch: tempfile.TemporaryDirectory | None = None
    database: str = ""
    token: str = ""
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def bench_key(self) -> str:
        return self.env["TRIBUTARY_BENCH_KEY"]

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=600, headers={"Authorization": f"Token {self.token}"}
        )

    def bench(self, path: str, body: dict) -> dict:
        response = httpx.post(
            f"{self.url}/bench/{path}/",
            json=body,
            timeout=900,
            headers={"X-Bench-Key": self.bench_key},
        )
        response.raise_for_status()
        return dict(response.json())

    def pids(self) -> dict[str, list[int]]:
        """Each started process with its descendants; code-step sandboxes (bubblewrap,
        the Python zygote, Node) count apart as "runner"."""
        groups: dict[str, list[int]] = {"runner": []}
        for name, process in self.processes.items():
            groups[name] = []
            for pid in [process.pid, *_descendants(process.pid)]:
                groups["runner" if _is_runner(pid) else name].append(pid)
        return groups


def start(*, embedded: bool, workers: int, web_processes: int, log_dir: Path) -> Stack:
    stack = Stack(
        embedded=embedded,
        log_dir=log_dir,
        worker_slots=settings.TRIBUTARY_EMBEDDED_CONCURRENCY if embedded else workers,
        scratch=tempfile.TemporaryDirectory(prefix="bench-"),
    )
    # Code-step sandboxes run as an unprivileged user and must reach the runner directory.
    Path(stack.scratch.name).chmod(0o755)  # type: ignore[union-attr]
    port = _free_port()
    stack.url = f"http://127.0.0.1:{port}"
    stack.env = _environment(stack, port)
    _manage(stack, "setup")
    stack.token = _manage(stack, "drf_create_token", "admin").split()[2]
    serve = ["manage.py", "serve", "--port", str(port)]
    if not embedded:
        serve += ["--workers", str(web_processes)]
        start_worker(stack, "worker", concurrency=workers)
        _spawn(stack, "scheduler", "manage.py", "scheduler")
    _spawn(stack, "web", *serve)
    _wait_until_up(stack)
    return stack


def start_worker(
    stack: Stack, name: str, *, concurrency: int, queues: tuple[str, ...] = ()
) -> None:
    """Start a Celery worker process called ``name`` (its node ``name@host``) serving
    ``queues`` (light, io, compute: the names before the prefix), or every queue. It is
    not waited for: a scenario knows it is up when a step it routed there finishes."""
    served = ["-Q", ",".join(QUEUE_PREFIX + queue for queue in queues)] if queues else []
    _spawn(
        stack,
        name,
        *("-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h", *served),
        *("--concurrency", str(concurrency), "--loglevel", "WARNING"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    )


def stop_processes(stack: Stack, *names: str) -> None:
    """Stop started processes, together (a worker finishes the tasks it is running first)."""
    _terminate([stack.processes.pop(name) for name in names])


def stop(stack: Stack) -> None:
    _terminate(list(stack.processes.values()))
    for log in stack._logs:
        log.close()
    if stack.database:
        _drop_database(stack.database)
    if stack.scratch is not None:
        stack.scratch.cleanup()


def _terminate(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _environment(stack: Stack, port: int) -> dict[str, str]:
    env = dict(os.environ) | {
        "DJANGO_SETTINGS_MODULE": "runtime.benchmark.settings",
        "TRIBUTARY_BENCH_KEY": secrets.token_urlsafe(16),
        "TRIBUTARY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TRIBUTARY_ADMIN_USERNAME": "admin",
        "TRIBUTARY_ADMIN_PASSWORD": PASSWORD,
        "TRIBUTARY_LOAD_EXAMPLE": "false",
        "TRIBUTARY_HTTP_ALLOWED_NETWORKS": "127.0.0.0/8",
        "TRIBUTARY_DATA_DIR": str(Path(stack.scratch.name) / "data"),  # type: ignore[union-attr]
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
    }
    if stack.embedded:
        env |= {"DATABASE_URL": "", "REDIS_URL": ""}
    else:
        if connection.vendor != "postgresql" or not settings.REDIS_URL:
            raise RuntimeError(
                "The full benchmark needs DATABASE_URL (PostgreSQL) and "
                "REDIS_URL; use --embedded for the embedded default."
            )
        stack.database = _create_database()
        db = settings.DATABASES["default"]
        auth = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
        env["DATABASE_URL"] = (
            f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{stack.database}"
        )
    return env


def _admin_dsn() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname="postgres",
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
    )


def _create_database() -> str:
    name = f"tributary_bench_{os.getpid()}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(stack: Stack, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _spawn(stack: Stack, name: str, *args: str) -> None:
    log = (stack.log_dir / f"{name}.log").open("ab")
    stack._logs.append(log)
    stack.processes[name] = subprocess.Popen(  # noqa: S603 - our own programs
        [sys.executable, *args],
        cwd=ROOT,
        env=stack.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_until_up(stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"The benchmark's {name} process exited at start.")
        try:
            if stack.api().get("/api/flows/").status_code == 200:
                time.sleep(1.0 if not stack.embedded else 0.2)  # let the worker settle
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("The benchmark's web server did not come up within a minute.")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    children: list[str] = []
    # Every thread's children: the embedded server starts sandboxes from worker threads.
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    for child in map(int, children):
        found += [child, *_descendants(child)]
    return found


def _is_runner(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(marker in command for marker in (b"bwrap", b"zygote", b"node_runner"))


def rss_megabytes(pids: list[int]) -> float:
    """Resident memory of a process tree, in MiB (VmRSS from /proc)."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024
