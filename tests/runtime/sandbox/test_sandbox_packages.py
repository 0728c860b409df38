"""Declared packages: installed from PyPI/npm into the runner, importable; nothing else is."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from runtime.sandbox import Ending, Sandbox
from runtime.sandbox.config import SandboxConfig

PYTHON = """
import six
def handler(event, context):
    return six.__version__
"""
JAVASCRIPT = """
import isNumber from "is-number";
export function handler() { return [isNumber(5), isNumber("x")]; }
"""


@pytest.fixture(scope="module")
def installed() -> Iterator[Sandbox]:
    runner = Path(tempfile.mkdtemp(prefix="tributary-test-packages-"))
    runner.chmod(0o755)
    call_command(
        "install_code_packages",
        "--python", "six==1.16.0",
        "--npm", "is-number@7.0.0",
        "--runner-dir", str(runner),
    )  # fmt: skip
    sandbox = Sandbox(SandboxConfig(runner_dir=runner))
    yield sandbox
    sandbox.close()
    shutil.rmtree(runner, ignore_errors=True)


def test_declared_packages_import(installed: Sandbox) -> None:
    assert installed.run("python", PYTHON, {}, {}).output == "1.16.0"
    assert installed.run("javascript", JAVASCRIPT, {}, {}).output == [True, False]


@pytest.mark.parametrize(
    ("language", "source", "message"),
    [
        (
            "python",
            "import requests\ndef handler(e, c):\n    return 1\n",
            "Module 'requests' is not available to code steps; an admin can allow it in "
            "TRIBUTARY_CODE_PYTHON_PACKAGES",
        ),
        (
            "python",
            "import apt\ndef handler(e, c):\n    return 1\n",  # Debian's, in dist-packages
            "Module 'apt' is not available to code steps",
        ),
        (
            "javascript",
            "import pad from 'left-pad';\nexport function handler() { return 1; }",
            "Module 'left-pad' is not available to code steps; an admin can allow it in "
            "TRIBUTARY_CODE_NPM_PACKAGES",
        ),
        (
            "javascript",
            "import npm from 'npm';\nexport function handler() { return 1; }",  # global npm
            "Module 'npm' is not available to code steps",
        ),
    ],
)
def test_undeclared_packages_fail_clearly(
    installed: Sandbox, language: str, source: str, message: str
) -> None:
    result = installed.run(language, source, {}, {})
    assert result.outcome is Ending.ERROR
    assert message in (result.error or "")


def test_reinstalling_removes_what_is_no_longer_declared(installed: Sandbox) -> None:
    runner = installed.config.runner_dir
    call_command("install_code_packages", "--python", "--npm", "--runner-dir", str(runner))
    # Sandboxes already running see the new tree (it is swapped in by rename).
    result = installed.run("python", PYTHON, {}, {})
    assert result.outcome is Ending.ERROR and "'six'" in (result.error or "")
    assert list((runner / "python").iterdir()) == []
