"""Shared sandboxes for the sandbox tests: real bubblewrap, real interpreters, no mocks."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.sandbox import Sandbox
from runtime.sandbox.config import SandboxConfig

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def runner_dir() -> Iterator[Path]:
    """An empty runner directory that uid 65534 can read (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="tributary-test-runner-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(runner_dir: Path) -> Iterator[Sandbox]:
    """The sandbox every isolation test attacks: bubblewrap is required here."""
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (apt-get install bubblewrap)")
    instance = Sandbox(SandboxConfig(runner_dir=runner_dir, require_sandbox=True))
    assert instance.bwrap, instance.bwrap_problem
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def sandbox_without_bwrap(runner_dir: Path) -> Iterator[Sandbox]:
    """A developer's machine: no bubblewrap, but unprivileged user namespaces allowed."""
    instance = Sandbox(SandboxConfig(runner_dir=runner_dir, bwrap=""))
    assert not instance.bwrap
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The real path of this checkout; code steps must not be able to see into it."""
    assert (REPO / "manage.py").exists()
    return REPO
