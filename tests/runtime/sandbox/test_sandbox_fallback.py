"""Without bubblewrap (a developer's laptop): the remaining layers, the warnings, the refusal."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.sandbox import (
    Ending,
    Limits,
    Sandbox,
    SandboxUnavailable,
    sandbox_status,
    sandbox_warning,
)
from runtime.sandbox.checks import check_sandbox
from runtime.sandbox.config import SandboxConfig
from runtime.sandbox.warning import banner, warning_for

PROBE = """
import os, socket
def handler(event, context):
    found = {"uid": os.getuid(), "env": sorted(os.environ), "cwd": os.getcwd()}
    try:
        socket.socket()
        found["socket"] = "OPENED"
    except OSError as exc:
        found["socket"] = type(exc).__name__
    with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "leak"), "w") as f:
        f.write("x")
    found["tmp"] = sorted(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    return found
"""
DAEMON = """
import os
def handler(event, context):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", event["marker"]])
        os._exit(0)
    return 1
"""


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "no-namespaces"])
def fallback(request: pytest.FixtureRequest, runner_dir: Path) -> Iterator[Sandbox]:
    """No bubblewrap; with per-execution namespaces, and without (older kernels)."""
    config = SandboxConfig(runner_dir=runner_dir, bwrap="", per_execution_namespaces=request.param)
    instance = Sandbox(config)
    yield instance
    instance.close()


def test_python_keeps_the_remaining_layers(fallback: Sandbox) -> None:
    first = fallback.run("python", PROBE, {}, {})
    assert first.outcome is Ending.OK, first
    assert first.output["uid"] == 65534  # the tests run as root
    assert first.output["socket"] == "PermissionError"  # seccomp
    assert set(first.output["env"]) <= {"PATH", "LANG", "HOME", "TZ", "PWD", "TMPDIR"}
    second = fallback.run("python", PROBE, {}, {})
    assert second.output["tmp"] == ["leak"]  # only its own file: a fresh directory each time


def test_python_daemons_are_killed(fallback: Sandbox) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**5}"
    assert fallback.run("python", DAEMON, {"marker": marker}, {}).outcome is Ending.OK
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(marker)


def test_python_limits_still_apply(fallback: Sandbox) -> None:
    loop = "def handler(e, c):\n    while True:\n        pass\n"
    result = fallback.run("python", loop, {}, {}, Limits(cpu_seconds=1))
    assert result.outcome is Ending.TIMEOUT
    bomb = "def handler(e, c):\n    return len(b'x' * 10**10)\n"
    assert fallback.run("python", bomb, {}, {}).outcome is Ending.OOM


def test_javascript_runs_with_the_remaining_layers(fallback: Sandbox) -> None:
    source = """
import net from "node:net";
export async function handler() {
  const error = await new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port: 5432 });
    sock.on("connect", () => resolve("CONNECTED"));
    sock.on("error", (e) => resolve(e.code));
  });
  return { uid: process.getuid(), error };
}
"""
    result = fallback.run("javascript", source, {}, {})
    assert result.outcome is Ending.OK, result
    assert result.output == {"uid": 65534, "error": "EPERM"}


def test_status_warns_about_the_missing_layer(fallback: Sandbox) -> None:
    status = fallback.status()
    assert status["bubblewrap"] is False and status["seccomp"] is True
    assert any("bubblewrap is not available" in warning for warning in status["warnings"])
    assert status["per_execution_namespaces"] is fallback.config.per_execution_namespaces
    # Node's children die with its own PID namespace, which needs user namespaces too.
    leaks = any("JavaScript step starts" in warning for warning in status["warnings"])
    assert leaks is not fallback.config.per_execution_namespaces


def test_required_sandbox_refuses_to_run(runner_dir: Path) -> None:
    config = SandboxConfig(runner_dir=runner_dir, bwrap="", require_sandbox=True)
    sandbox = Sandbox(config)
    with pytest.raises(SandboxUnavailable, match="TRIBUTARY_CODE_REQUIRE_SANDBOX"):
        sandbox.run("python", "def handler(e, c):\n    return 1\n", {}, {})
    sandbox.close()


def test_system_checks(settings: SettingsWrapper, runner_dir: Path) -> None:
    settings.TRIBUTARY_CODE_RUNNER_DIR = runner_dir
    # Off by default with DEBUG only; the tests may run with either.
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = False
    assert check_sandbox() == []
    assert sandbox_status()["bubblewrap"] is True
    settings.TRIBUTARY_CODE_BWRAP = ""
    # Without bubblewrap container-image steps cannot run at all (W003).
    assert [message.id for message in check_sandbox()] == ["tributary.W001", "tributary.W003"]
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = True
    assert [message.id for message in check_sandbox()] == ["tributary.E001", "tributary.W003"]


def test_pages_warn_only_while_code_runs_without_bubblewrap(
    settings: SettingsWrapper, runner_dir: Path
) -> None:
    settings.TRIBUTARY_CODE_RUNNER_DIR = runner_dir
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = False
    assert sandbox_warning() is None
    settings.TRIBUTARY_CODE_BWRAP = ""
    warning = sandbox_warning()
    assert warning is not None and "WITHOUT the OS sandbox" in warning
    assert "install bubblewrap" in warning
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = True  # then code steps refuse to run at all
    assert (sandbox_warning() or "").startswith("Code steps cannot run")


def test_the_fallback_sandbox_has_a_warning(fallback: Sandbox) -> None:
    assert "WITHOUT the OS sandbox" in (warning_for(fallback) or "")


def test_the_banner_is_for_signed_in_users_only(
    settings: SettingsWrapper, runner_dir: Path, rf: RequestFactory
) -> None:
    settings.TRIBUTARY_CODE_RUNNER_DIR = runner_dir
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = False
    settings.TRIBUTARY_CODE_BWRAP = ""
    request = rf.get("/")
    request.user = AnonymousUser()
    assert banner(request) == {}
    request.user = get_user_model()(username="ada")
    assert banner(request) == {"sandbox_warning": sandbox_warning()}
    assert "WITHOUT the OS sandbox" in banner(request)["sandbox_warning"]


def _running(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode("latin-1"):
                    return True
            except OSError:
                continue
    return False


@pytest.mark.django_db
def test_every_page_shows_the_warning_while_code_runs_unsandboxed(
    settings: SettingsWrapper, runner_dir: Path, client: Client
) -> None:
    settings.TRIBUTARY_CODE_RUNNER_DIR = runner_dir
    settings.TRIBUTARY_CODE_REQUIRE_SANDBOX = False
    client.force_login(get_user_model().objects.create_user("ada"))
    assert b"sandbox-warning" not in client.get("/").content
    settings.TRIBUTARY_CODE_BWRAP = ""
    page = client.get("/").content.decode()
    assert 'class="sandbox-warning" role="alert"' in page
    assert "Code steps run WITHOUT the OS sandbox" in page
