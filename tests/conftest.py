"""Personas and clients shared by every test package.

Tests run against the real PostgreSQL named by DATABASE_URL (scripts/test sets it); the
embedded SQLite default has its own smoke test that starts the server in a subprocess.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.db.backends.postgresql.operations import DatabaseOperations
from execnet import XSpec
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient
from xdist.remote import Producer
from xdist.scheduler import Scheduling

from designer.models import Role, Workspace
from tests import factories, parallel
from tests.fakes import FakeApi, SmtpSink, start_fake_api
from tests.processes import free_port, running, wait_for_http
from tests.stack import SECRETS_KEY, MakeStack, Stack, flush_broker, stack_env


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=5,
        help="Generated requests per API operation in tests/test_api_fuzz.py (scripts/fuzz: more)",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(specs: Sequence[XSpec]) -> None:
    """Each xdist worker gets a Redis database of its own (see tests/parallel.py)."""
    parallel.isolate_workers(specs, django_settings.REDIS_URL)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    """xdist hands out whole files, and the browser package as one (see tests/parallel.py)."""
    return parallel.make_scheduler(config, log)


def pytest_report_header() -> str:
    return "Tributary tests: real PostgreSQL, Redis, Celery worker, ASGI server and Chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out tests marked ``long`` unless the -m expression names them (scripts/chaos
    runs ``-m long``): the suite must stay under 25 minutes; each long test has a short
    variant in it. Refuse a module that mixes the shared ``stack`` with ``make_stack``."""
    _refuse_mixed_stacks(items)
    if "long" in (config.option.markexpr or ""):
        return
    long = [item for item in items if item.get_closest_marker("long")]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not item.get_closest_marker("long")]


def _refuse_mixed_stacks(items: list[pytest.Item]) -> None:
    """A test that starts (and kills) its own workers with ``make_stack`` must not share a
    module with the module-scoped ``stack``: that stack's worker, still running, would take
    the test's work, and a test of what happens without a worker, or when one is killed,
    would pass without showing it."""
    by_module: dict[str, set[str]] = {}
    for item in items:
        names = set(getattr(item, "fixturenames", ())) & {"stack", "make_stack"}
        by_module.setdefault(str(item.fspath), set()).update(names)
    mixed = sorted(path for path, names in by_module.items() if len(names) == 2)
    if mixed:
        raise pytest.UsageError(
            "These modules use both the shared stack and make_stack; move the make_stack "
            f"tests to a module of their own: {', '.join(mixed)}"
        )


# Figures a test records with ``record_property(name, line)`` for the record (the chaos
# tally, the first flow's action count), printed in the terminal summary: not pass marks.
FIGURES = ("chaos", "actions", "foreach", "autoscale")


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", []):
                if name in FIGURES:
                    terminalreporter.write_line(f"{report.nodeid}: {value}")


@pytest.fixture(autouse=True)
def _require_postgres(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("any_database"):
        return
    if "django_db_setup" in request.fixturenames and connection.vendor != "postgresql":
        pytest.fail(
            "Tests run against PostgreSQL: set DATABASE_URL (scripts/test does), e.g. "
            "postgres://postgres@127.0.0.1:5432/tributary"
        )


@pytest.fixture(scope="session", autouse=True)
def _flush_survives_deadlocks() -> Iterator[None]:
    """Transactional tests end with a TRUNCATE of every table while the stack's worker and
    scheduler processes keep reading them; PostgreSQL may pick the TRUNCATE as the victim
    of a lock-order deadlock. The flush is atomic, so trying again is safe."""
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: Iterable[str]) -> None:
        for attempt in range(5):
            try:
                return original(self, sql_list)
            except OperationalError as exc:
                if "deadlock detected" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign,assignment]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _in_process_settings(settings: SettingsWrapper) -> None:
    # Each PBKDF2 hash costs ~0.4 s; personas are created for almost every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Pages rendered in-process need no collectstatic manifest; servers started as
    # subprocesses use the real storage.
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@dataclass
class Team:
    """One workspace with a member of every role, and an outsider from another workspace."""

    workspace: Workspace
    admin: User
    editor: User
    viewer: User
    outsider: User

    def client(self, who: User | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_login(who)
        return client


@pytest.fixture
def team(db: None) -> Team:
    admin = factories.user("alice")
    space = factories.workspace("Shop", admin=admin)
    other = factories.workspace("Elsewhere")
    return Team(
        workspace=space,
        admin=admin,
        editor=factories.member(space, "eddie", Role.EDITOR),
        viewer=factories.member(space, "vera", Role.VIEWER),
        outsider=factories.member(other, "olga", Role.ADMIN),
    )


@pytest.fixture
def editor_client(team: Team) -> APIClient:
    return team.client(team.editor)


# --- The real stack and the local fakes (see tests/stack.py, tests/fakes.py) ------------


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
def _secrets_key(settings: SettingsWrapper) -> None:
    settings.TRIBUTARY_SECRETS_KEYS = [SECRETS_KEY]


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


@dataclass
class Web:
    """The real ASGI server (`manage.py serve`, uvicorn) as a subprocess."""

    url: str
    log: Path

    def get_log(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def web(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The web server of the module's stack (its worker and scheduler run the flows)."""
    port = free_port()
    log = tmp_path_factory.mktemp("web") / "serve.log"
    command = [sys.executable, "manage.py", "serve", "--port", str(port)]
    env = stack.env | {"TRIBUTARY_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with running(command, env=env, log=log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/login/", process=server, log=log)
        yield Web(url=f"http://127.0.0.1:{port}", log=log)
