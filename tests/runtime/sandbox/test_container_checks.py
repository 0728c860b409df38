"""What container-image steps need on a machine, and the system check that says what is
missing: a static busybox (it runs inside every image), skopeo, umoci, bubblewrap."""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from runtime.sandbox.checks import check_sandbox
from runtime.sandbox.container import static_problem


def test_only_a_static_executable_can_set_an_images_limits(tmp_path: Path) -> None:
    assert static_problem(Path("/bin/busybox")) is None
    assert "dynamically linked" in (static_problem(Path("/usr/bin/ls")) or "")
    assert "is missing" in (static_problem(tmp_path / "nothing") or "")
    (tmp_path / "text").write_text("#!/bin/sh\n")
    assert "not a 64-bit executable" in (static_problem(tmp_path / "text") or "")


def test_the_system_check_says_what_keeps_images_from_running() -> None:
    assert not [m for m in check_sandbox() if m.id == "tributary.W003"]
    with override_settings(TRIBUTARY_CONTAINER_BUSYBOX="/usr/bin/ls"):
        [warning] = [m for m in check_sandbox() if m.id == "tributary.W003"]
    assert "/usr/bin/ls is dynamically linked" in warning.msg
    assert "busybox-static" in (warning.hint or "")
