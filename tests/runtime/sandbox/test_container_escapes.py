"""Escape attempts from inside a container image, the code-sandbox attack cases replayed by
a busybox shell: every one must fail. The image is registered, fetched into the worker's
cache and run exactly as a step runs it (runtime.images.cache, runtime.sandbox.container).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images import cache
from runtime.sandbox import Limits
from runtime.sandbox.container import ContainerSpec, Outcome, run_container
from tests.conftest import Team
from tests.images import build_image, store_layout

pytestmark = pytest.mark.django_db

SECRET_ENV = "TRIBUTARY_TEST_SECRET"


@pytest.fixture
def rootfs(team: Team, tmp_path: Path) -> Iterator[Path]:
    layout = build_image(tmp_path, {"/etc/hostname": "x"}, entrypoint=["/bin/sh"])
    image = store_layout(team.workspace, "attacker", layout)
    with cache.rootfs(image.digest, image.blobs) as root:
        yield root


def shell(root: Path, script: str, stdin: bytes = b"{}", **limits: float) -> str:
    result = run_container(
        ContainerSpec(rootfs=root, argv=["/bin/sh", "-c", script], env={"PATH": "/bin"}),
        stdin,
        Limits(**limits),  # type: ignore[arg-type]
    )
    assert result.outcome in (Outcome.OK, Outcome.FAILED), result
    return str(result.output or "") + result.logs


def test_secrets_the_host_and_the_project_cannot_be_read(
    rootfs: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "worker-only")
    paths = [
        "/etc/shadow",
        "/etc/passwd",
        "/root/.bashrc",
        str(repo_root / "manage.py"),
        str(repo_root / ".env"),
        "/usr/bin/python3",
        "/var/run/postgresql/.s.PGSQL.5432",
        "/proc/1/root/etc/passwd",
    ]
    script = "".join(f"cat {path} >/dev/null 2>&1 && echo READ {path}; " for path in paths)
    assert "READ" not in shell(rootfs, script)
    # The image's own files are there; the worker's environment is not.
    seen = shell(
        rootfs, "cat /etc/hostname; cat /proc/self/environ /proc/1/environ | tr '\\0' ' '; env"
    )
    assert seen.startswith("x")
    assert "worker-only" not in seen and "SECRET_KEY" not in seen and "DATABASE" not in seen


def test_the_image_is_read_only_and_its_tmp_private(rootfs: Path) -> None:
    script = (
        "touch /x 2>/dev/null && echo WROTE /x; touch /bin/x 2>/dev/null && echo WROTE /bin; "
        "cp /bin/busybox /.tributary/busybox 2>/dev/null && echo WROTE limiter; "
        "touch /dev/x 2>/dev/null && echo WROTE /dev; echo left > /tmp/left && echo tmp-ok"
    )
    out = shell(rootfs, script)
    assert "WROTE" not in out and "tmp-ok" in out
    # The next execution of the same image starts from a clean /tmp.
    assert "No such file" in shell(rootfs, "cat /tmp/left 2>&1; ls /tmp")


def test_no_network_not_even_loopback(rootfs: Path) -> None:
    script = (
        "wget -q -T 2 -O- http://127.0.0.1:5432/ >/dev/null 2>&1 && echo REACHED postgres; "
        "echo PING | nc -w 2 127.0.0.1 6379 2>/dev/null | grep -q PONG && echo REACHED redis; "
        "wget -q -T 2 -O- http://example.com/ >/dev/null 2>&1 && echo REACHED internet; echo end"
    )
    out = shell(rootfs, script)
    assert "REACHED" not in out and "end" in out


def test_unprivileged_and_alone(rootfs: Path) -> None:
    out = shell(rootfs, "id -u; grep CapEff /proc/self/status; ls /proc | grep -c '^[0-9]'")
    uid, caps, processes = out.split("\n")[:3]
    assert uid == "65534"
    assert caps.split()[-1] == "0000000000000000"
    # Its PID namespace holds bubblewrap's init, the shell and the commands of the pipeline.
    assert int(processes) <= 5


def _sleepers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_detached_children_die_with_the_step(rootfs: Path) -> None:
    shell(rootfs, "setsid sleep 431 </dev/null >/dev/null 2>&1 & sleep 432 & echo started")
    deadline = time.monotonic() + 5
    while (_sleepers("431") or _sleepers("432")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _sleepers("431") and not _sleepers("432")


def test_a_fork_bomb_is_held_to_the_process_limit(rootfs: Path) -> None:
    result = run_container(
        ContainerSpec(
            rootfs=rootfs, argv=["/bin/sh", "-c", "while true; do sleep 433 & done"], env={}
        ),
        b"",
        Limits(timeout_seconds=10, max_processes=8),
    )
    # busybox's shell gives up when fork fails: the limit ends the bomb before the timeout.
    assert result.outcome is Outcome.FAILED
    assert "can't fork: Resource temporarily unavailable" in (result.error or "")
    deadline = time.monotonic() + 5
    while _sleepers("433") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _sleepers("433")


def test_cancel_kills_the_image_at_once(rootfs: Path) -> None:
    cancelled = threading.Event()
    threading.Timer(0.5, cancelled.set).start()
    started = time.monotonic()
    result = run_container(
        ContainerSpec(rootfs=rootfs, argv=["/bin/sh", "-c", "sleep 434"], env={}),
        b"",
        Limits(timeout_seconds=60),
        cancelled=cancelled,
    )
    assert result.outcome is Outcome.CANCELLED
    assert time.monotonic() - started < 5
    assert not _sleepers("434")


def test_the_sandbox_never_runs_as_root_on_the_host(rootfs: Path) -> None:
    # A root worker starts it as uid 65534; any other worker as itself.
    expected = 65534 if os.geteuid() == 0 else os.geteuid()
    observed: list[int] = []

    def look() -> None:
        time.sleep(0.5)
        observed.extend(Path(f"/proc/{pid}").stat().st_uid for pid in _sleepers("435"))

    watcher = threading.Thread(target=look)
    watcher.start()
    shell(rootfs, "sleep 1; sleep 435 & sleep 1; echo done")
    watcher.join()
    assert observed and set(observed) == {expected}
