"""A stack of the chaos test's own, which it may break at will: its own PostgreSQL database
(created, migrated and dropped here), its own redis-server on a free port, a web server, a
scheduler and several Celery workers.

Its own database rather than the session's test database: terminating every backend of
the chaos database cannot touch the session's connection or another test's data, and the
thousands of rows a long run leaves are dropped with it. The test process talks to it over
a plain psycopg connection named ``chaos-test``, which the faults never cut.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import psycopg
import redis
from django.db import connection

from runtime.engine.status import RUN_FINISHED
from runtime.models import Run, StepRun
from tests.processes import free_port, manage, stop, wait_for_http
from tests.runtime.engine.chaos.ledger import process_tree
from tests.stack import Stack, stack_env

RUNS, STEPS = Run._meta.db_table, StepRun._meta.db_table
WORKERS, CONCURRENCY = 3, 2
TEST_CONNECTION = "chaos-test"


@dataclass
class Database:
    """A PostgreSQL database of the test's own."""

    name: str
    params: dict[str, Any]
    connection: psycopg.Connection | None = None

    @property
    def url(self) -> str:
        p = self.params
        return f"postgres://{p['user']}@{p['host']}:{p['port']}/{self.name}"

    def create(self) -> None:
        with self._maintenance() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        with self._maintenance() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.connection is None:
            self.connection = psycopg.connect(
                dbname=self.name, autocommit=True, application_name=TEST_CONNECTION, **self.params
            )
        return self.connection.execute(sql, params).fetchall()

    def terminate(self, application_name: str) -> int:
        """Terminate the backends of the processes whose connections carry this name (a
        LIKE pattern): what a PostgreSQL restart or failover does to them."""
        rows = self.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE %s"
            " AND application_name <> %s",
            (application_name, TEST_CONNECTION),
        )
        return int(rows[0][0])

    def _maintenance(self) -> psycopg.Connection:
        return psycopg.connect(dbname="postgres", autocommit=True, **self.params)


def private_database() -> Database:
    """Named after the session's test database, so worktrees and CI never share it."""
    settings = connection.settings_dict
    base = settings["NAME"] if settings["NAME"].startswith("test_") else f"test_{settings['NAME']}"
    params = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": int(settings["PORT"] or 5432),
        "user": settings["USER"],
    }
    if settings["PASSWORD"]:
        params["password"] = settings["PASSWORD"]
    return Database(name=f"{base}_chaos", params=params)


@dataclass
class RedisServer:
    """A redis-server without persistence: killed and started again, it comes back empty."""

    log: Path
    port: int = field(default_factory=free_port)
    process: Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no"]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.02)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@dataclass
class Rig:
    """The running stack; its workers can be killed and replaced from any thread."""

    stack: Stack
    database: Database
    redis: RedisServer
    web_url: str = ""
    hook_url: str = ""
    workers: dict[str, Popen] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def start_worker(self, wait: bool = False) -> str:
        name = f"worker-{next(self._names)}"
        with self.lock:  # the Stack is not thread-safe
            self.workers[name] = self.stack.start_worker(name, CONCURRENCY, wait=wait)
        return name

    def worker_trees(self) -> dict[str, list[int]]:
        """Each live worker's processes: the main one first, then its pool children."""
        with self.lock:
            mains = {name: p.pid for name, p in self.workers.items() if p.poll() is None}
        return {name: process_tree([pid]) for name, pid in mains.items()}

    def worker_pids(self) -> list[int]:
        return [pid for tree in self.worker_trees().values() for pid in tree]

    def signal_worker(self, name: str, signum: int, *, group: bool) -> list[int]:
        """Send ``signum`` to the worker (its whole process group with ``group``); it is
        replaced at once. Returns the pids it held."""
        with self.lock:
            process = self.workers.pop(name)
        pids = process_tree([process.pid])
        with suppress(ProcessLookupError):  # it died by itself meanwhile
            if group:
                os.killpg(process.pid, signum)
            else:
                os.kill(process.pid, signum)
        self.start_worker()
        return pids

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Every worker started so far logged that it takes tasks."""
        deadline = time.monotonic() + timeout
        for name in list(self.workers):
            while "ready." not in self.stack.log(name):
                assert time.monotonic() < deadline, self.stack.log(name)
                time.sleep(0.1)

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.database.query(sql, params)[0][0]

    def open_runs(self) -> int:
        """Runs not finished yet."""
        return int(
            self.scalar(
                f"SELECT count(*) FROM {RUNS} WHERE status NOT IN (%s, %s, %s)",  # noqa: S608
                tuple(RUN_FINISHED),
            )
        )


@contextmanager
def open_rig(logs: Path, smtp_port: int, ledger_url: str) -> Iterator[Rig]:
    """Database, Redis, web server, scheduler and WORKERS workers, ready; all stopped and
    the database dropped afterwards."""
    database = private_database()
    server = RedisServer(log=logs / "redis.log")
    env = stack_env(
        smtp_port,
        DATABASE_URL=database.url,
        REDIS_URL=server.url,
        # The test kills workers far more often than any deployment; giving up on a step
        # after three lost workers protects against a step that kills its worker, which is
        # not what is tested here.
        TRIBUTARY_MAX_LOST_WORKERS="20",
    )
    rig = Rig(stack=Stack(env=env, logs=logs), database=database, redis=server)
    try:
        database.create()
        server.start()
        manage("migrate", "-v0", env=env)
        _start(rig, token=_seed(env, ledger_url))
        yield rig
    finally:
        rig.stack.stop()
        server.stop()
        database.drop()


def _seed(env: dict[str, str], ledger_url: str) -> str:
    """Create the flow in the new database; its webhook's token."""
    out = manage(
        "shell",
        "-c",
        f"from tests.runtime.engine.chaos.seed import seed; seed({ledger_url!r})",
        env=env,
    )
    return str(json.loads(out.strip().splitlines()[-1])["token"])


def _start(rig: Rig, *, token: str) -> None:
    port = free_port()
    web = rig.stack.start("web", "manage.py", "serve", "--port", str(port))
    for _ in range(WORKERS):
        rig.start_worker()
    rig.stack.start_scheduler()
    rig.web_url = f"http://127.0.0.1:{port}"
    rig.hook_url = f"{rig.web_url}/hooks/{token}"
    # A webhook's 404 is the cheapest answer that proves the server is up.
    wait_for_http(f"{rig.web_url}/hooks/-", process=web, log=rig.stack.logs / "web.log")
    rig.wait_until_ready()
