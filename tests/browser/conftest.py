"""Browser tests: Debian's Chromium, driven by Playwright, against the real server.

The server is `manage.py serve` (uvicorn) in a subprocess on the pytest test database, with
a Celery worker and the scheduler beside it (tests/stack.py). It only sees committed rows,
so every test here is `django_db(transaction=True)`. The browser, server, worker and
scheduler live as long as this package's tests (scope "package"): a worker left running
would take other packages' tasks off the shared broker. With pytest-xdist the package is one
unit of work (tests/parallel.py), so they start once per run. A fresh browser context (cookies,
storage) per test. A test fails on any browser console error, and leaves
a screenshot in its tmp dir when it fails.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.fakes import SmtpSink
from tests.processes import ROOT, free_port, manage, running, wait_for_http
from tests.stack import Stack, flush_broker, stack_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@dataclass
class Server:
    url: str
    process: Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _subprocess_env(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}


@pytest.fixture(scope="package")
def live_stack(
    django_db_setup: None, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A worker and a scheduler for all the browser tests (starting them is slow)."""
    flush_broker()
    stack = Stack(
        env=_subprocess_env(stack_env(smtp_sink.port)), logs=tmp_path_factory.mktemp("stack")
    )
    stack.start_worker(concurrency=2)
    stack.start_scheduler()
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def server(live_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`manage.py serve` on the test database, with collected (manifest) static files."""
    bundle = ROOT / "static" / "build" / "canvas.js"
    if not bundle.exists():
        pytest.fail("The canvas bundle is missing: run `npm ci && npm run build` first.")
    data_dir = tmp_path_factory.mktemp("server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = live_stack.env | {
        "TRIBUTARY_DATA_DIR": str(data_dir),
        "TRIBUTARY_PUBLIC_URL": url,
        "DEBUG": "false",
    }
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    log = data_dir / "serve.log"
    command = [sys.executable, "manage.py", "serve", "--port", str(port)]
    with running(command, env=env, log=log) as process:
        wait_for_http(f"{url}/login/", process=process, log=log)
        yield Server(url=url, process=process, log=log, env=env)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # tests make between browser steps are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


class ConsoleWatch:
    """Collects console errors and uncaught exceptions of the pages it watches.

    A 400, 403 or 409 from /api/ is an answer the designer handles (a validation error, a
    refusal, a conflict); Chromium still logs it as a failed resource, so those lines are
    allowed. Everything else fails: a 404, any 5xx, any script error. A test that breaks
    something on purpose names what it expects with ``expect_errors``.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []

    def expect_errors(self, pattern: str) -> None:
        """Console errors matching ``pattern`` are this test's intent, not a failure."""
        self.expected.append(re.compile(pattern))

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        text = message.text
        handled = "/api/" in url and any(f"status of {code}" in text for code in (400, 403, 409))
        if not handled:
            self.errors.append(f"{text} ({url})")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(
    context: BrowserContext, console: ConsoleWatch, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    tab = console.watch(context.new_page())
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for index, open_page in enumerate(context.pages):
            open_page.screenshot(path=str(tmp_path / f"failure-{index}.png"), full_page=True)
        request.node.add_report_section("teardown", "screenshots", f"Saved in {tmp_path}")
    if console.unexpected():
        pytest.fail("Browser console errors:\n" + "\n".join(console.unexpected()))


def log_in(context: BrowserContext, server: Server, user: User) -> None:
    """Give the browser a session of ``user`` (made in-process, stored in the database)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": cookie, "url": server.url}])


def set_server_password(user: User, password: str) -> None:
    """Tests hash passwords with MD5 in-process for speed; the real server only accepts its
    configured hashers, so a user who logs in through the form gets a PBKDF2 hash."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt())
    user.save(update_fields=["password"])
