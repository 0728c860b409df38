"""A real stack for runtime tests: Celery worker and scheduler processes on the Redis
broker and the test PostgreSQL database, a fake HTTP API and an SMTP sink on 127.0.0.1.

Tests that use the stack need ``transactional_db``: the worker only sees committed rows.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from runtime.models import Run
from runtime.status import RUN_FINISHED
from tests.fakes import FakeApi, SmtpSink, start_fake_api
from tests.processes import free_port, running

SECRETS_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeApi]:
    api, server = start_fake_api()
    yield api
    server.shutdown()


@pytest.fixture(autouse=True)
def _fresh_fake_api(request: pytest.FixtureRequest) -> None:
    if "fake_api" in request.fixturenames:
        request.getfixturevalue("fake_api").reset()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _secrets_key(settings: Any) -> None:
    settings.TRIBUTARY_SECRETS_KEYS = [SECRETS_KEY]


@dataclass
class Stack:
    """The processes of one test stack; tests may kill and restart its parts."""

    env: dict[str, str]
    logs: Path
    processes: dict[str, Popen] = field(default_factory=dict)
    _exits: list[Any] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Popen:
        context = running([sys.executable, *args], env=self.env, log=self.logs / f"{name}.log")
        process = context.__enter__()
        self._exits.append(context)
        self.processes[name] = process
        return process

    def start_worker(self, name: str = "worker", concurrency: int = 3) -> Popen:
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
            "--loglevel",
            "INFO",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )
        self._wait_for_log(name, "ready.")
        return process

    def start_scheduler(self) -> Popen:
        process = self.start("scheduler", "manage.py", "scheduler")
        self._wait_for_log("scheduler", "Scheduler running.")
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
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(django_db_setup: None, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[MakeStack]:
    """Build a stack whose parts the test starts (and kills) itself."""
    stacks: list[Stack] = []

    def make(**extra: str) -> Stack:
        flush_broker()
        stack = Stack(env=stack_env(smtp_sink.port, **extra), logs=tmp_path)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="module")
def stack(
    django_db_setup: None, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A worker (3 processes) and a scheduler shared by the tests of a module."""
    flush_broker()
    shared = Stack(env=stack_env(smtp_sink.port), logs=tmp_path_factory.mktemp("stack"))
    shared.start_worker()
    shared.start_scheduler()
    yield shared
    shared.stop()


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
