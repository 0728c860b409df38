"""The real processes of a test stack: Celery workers and the scheduler on the Redis
broker and the test PostgreSQL database, started (and killed) by tests."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import redis
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from runtime.engine.status import RUN_FINISHED
from runtime.models import Run
from tests.processes import running

SECRETS_KEY = Fernet.generate_key().decode()


@dataclass
class Stack:
    """The processes of one test stack; tests may kill and restart its parts."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, Popen] = field(default_factory=dict)
    _exits: list[Any] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Popen:
        """Start ``python args`` as process ``name``. Its PostgreSQL connections carry the
        name (application_name): pg_stat_activity tells the processes apart, and a test can
        cut one process's connections."""
        url = self.env["DATABASE_URL"]
        env = self.env | {
            "DATABASE_URL": f"{url}{'&' if '?' in url else '?'}application_name={name}"
        }
        context = running([sys.executable, *args], env=env, log=self.logs / f"{name}.log")
        process = context.__enter__()
        self._exits.append(context)
        self.processes[name] = process
        return process

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 3,
        wait: bool = True,
        options: Sequence[str] = (),
    ) -> Popen:
        """A Celery worker (prefork); with ``wait``, returns once it takes tasks. ``options``
        go to `celery worker` as they are (``["-Q", "compute"]``, ``["--autoscale", "4,1"]``)."""
        process = self.start(
            name,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            *options,
            "--loglevel",
            "INFO",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )
        if wait:
            self._wait_for_log(name, "ready.")
        return process

    def start_scheduler(self, name: str = "scheduler") -> Popen:
        process = self.start(name, "manage.py", "scheduler")
        self._wait_for_log(name, "Scheduler running.")
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def _wait_for_log(self, name: str, marker: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log(name):
                return
            if self.processes[name].poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{name} did not start:\n{self.log(name)}")

    def stop(self) -> None:
        for context in reversed(self._exits):
            context.__exit__(None, None, None)
        self._exits.clear()


def stack_env(smtp_port: int, **extra: str) -> dict[str, str]:
    database = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "TRIBUTARY_SECRETS_KEY": SECRETS_KEY,
            "TRIBUTARY_HTTP_ALLOWED_NETWORKS": "127.0.0.1/32",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            # Short leases and requeue delays so recovery happens within a test's patience.
            "TRIBUTARY_STEP_LEASE_SECONDS": "3",
            "TRIBUTARY_REQUEUE_AFTER_SECONDS": "3",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def flush_broker() -> None:
    """Empty the Redis database of this test process: under pytest-xdist each worker has
    its own (tests/parallel.py), so this never drops another worker's tasks."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


MakeStack = Callable[..., Stack]


def wait_until(ready: Callable[..., Any], what: str, timeout: float = 30) -> Any:
    """Poll ``ready`` until it gives something truthy, and return that; fail saying
    ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.02)


def wait_for_run(run: Run, timeout: float = 30, statuses: frozenset = RUN_FINISHED) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        time.sleep(0.05)
    steps = {s.node_id: (s.status, s.error) for s in run.steps.all()}
    raise AssertionError(f"Run #{run.pk} is still {run.status} after {timeout} s: {steps}")


def wait_for_step(run: Run, node_id: str, status: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = run.steps.get(node_id=node_id)
        if step.status == status:
            return step
        time.sleep(0.05)
    raise AssertionError(f"{node_id} of run #{run.pk} never became {status}: {step.status}")
