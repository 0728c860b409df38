"""Installing the packages admins allow code steps to import, into the runner's own tree.

Never into the application's virtualenv: ``<runner>/python`` (``pip install --target``) and
``<runner>/node/node_modules`` (npm), mounted read-only into every sandbox. Each install
builds a fresh directory and swaps it in by rename, so the runner environment is exactly
the declared list (a package removed from the list disappears) and running executions never
see a half-installed tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_PINNED_PYTHON = re.compile(r"^[A-Za-z0-9_.\[\],-]+==[^=\s]+$")
_PINNED_NPM = re.compile(r"^(@[^/\s]+/)?[^@\s]+@\d[^\s]*$")


class InstallError(RuntimeError):
    """pip or npm failed; the message holds their output."""


def unpinned(specs: Sequence[str], language: str) -> list[str]:
    """The specs that do not pin one exact version (``name==1.2.3`` / ``name@1.2.3``)."""
    pattern = _PINNED_PYTHON if language == "python" else _PINNED_NPM
    return [spec for spec in specs if not pattern.match(spec)]


def install_python(specs: Sequence[str], target: Path) -> None:
    """Make ``target`` hold exactly ``specs`` (and their dependencies), wheels only.

    Wheels only (``--only-binary=:all:``): building an sdist would run the package's own
    code on the host, with the worker's privileges.
    """
    staging = _staging(target)
    if specs:
        command = [sys.executable, "-m", "pip", "install", "--target", str(staging)]
        command += ["--only-binary=:all:", "--no-input", "--disable-pip-version-check"]
        _run([*command, "--", *specs], "pip")
    _swap(staging, target)


def install_npm(specs: Sequence[str], node_dir: Path, npm: str = "npm") -> None:
    """Make ``node_dir/node_modules`` hold exactly ``specs``; install scripts never run."""
    staging = _staging(node_dir)
    if specs:
        executable = shutil.which(npm)
        if executable is None:
            raise InstallError(f"{npm} is not installed; npm packages cannot be installed.")
        (staging / "package.json").write_text('{"name": "tributary-code-steps", "private": true}\n')
        command = [executable, "install", "--prefix", str(staging), "--ignore-scripts"]
        command += ["--no-audit", "--no-fund", "--omit=dev", "--save-exact", "--loglevel=error"]
        _run([*command, "--", *specs], "npm")
    _swap(staging, node_dir)


def _staging(target: Path) -> Path:
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staging.chmod(0o755)
    return staging


def _swap(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    # Sandboxes run as uid 65534 without bubblewrap: everything must be world-readable.
    for root, dirs, files in os.walk(target):
        for name in dirs:
            Path(root, name).chmod(0o755)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)


def _run(command: list[str], tool: str) -> None:
    try:
        completed = subprocess.run(  # noqa: S603 - argv list; specs are admin settings
            command, capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{tool} could not run: {exc}") from exc
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()[-4000:]
        raise InstallError(f"{tool} failed (exit {completed.returncode}):\n{output}")
