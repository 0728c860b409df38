"""Faults a code step causes on purpose: reaching for the app's libraries, killing itself,
running out of file descriptors or shared memory. Each fails cleanly; the pool serves on."""

from __future__ import annotations

import pytest

from runtime.sandbox import Ending, Limits, Sandbox

LANGUAGES = ["python", "javascript"]
OK_SOURCE = {
    "python": "def handler(event, context):\n    return 'still serving'\n",
    "javascript": "export function handler() { return 'still serving'; }",
}


def _still_serves(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, OK_SOURCE[language], {}, {})
    assert result.outcome is Ending.OK and result.output == "still serving", result


PY_UNAVAILABLE = "is not available to code steps; an admin can allow it in TRIBUTARY_CODE_PYTHON"
JS_UNAVAILABLE = "is not available to code steps; an admin can allow it in TRIBUTARY_CODE_NPM"


@pytest.mark.parametrize(
    ("language", "source", "message"),
    [
        ("python", "import django\ndef handler(e, c):\n    return 1\n", "'django'"),
        (
            "python",
            "def handler(e, c):\n    from django.conf import settings\n"
            "    return settings.SECRET_KEY\n",
            "'django'",
        ),
        (
            "python",
            "import psycopg\ndef handler(e, c):\n"
            "    return psycopg.connect('postgres://postgres@127.0.0.1:5432/postgres')\n",
            "'psycopg'",
        ),
        ("python", "import redis\ndef handler(e, c):\n    return 1\n", "'redis'"),
        (
            "javascript",
            "import { createRequire } from 'node:module';\n"
            "const require = createRequire(import.meta.url);\n"
            "export function handler() { return new (require('pg').Client)(); }",
            "'pg'",
        ),
        ("javascript", "export async function handler() { return await import('pg'); }", "'pg'"),
    ],
)
def test_the_apps_own_libraries_are_not_available(
    sandbox: Sandbox, language: str, source: str, message: str
) -> None:
    result = sandbox.run(language, source, {}, {})
    assert result.outcome is Ending.ERROR, result
    unavailable = PY_UNAVAILABLE if language == "python" else JS_UNAVAILABLE
    assert f"Module {message} {unavailable}" in (result.error or "")


SUICIDE = {
    "python": "import os\ndef handler(e, c):\n    os.kill(os.getpid(), 9)\n",
    "javascript": "export function handler() { process.kill(process.pid, 'SIGKILL'); }",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_process_killed_by_a_signal_is_killed(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, SUICIDE[language], {}, {})
    assert result.outcome is Ending.KILLED, result
    assert result.error == "The code's process was killed (SIGKILL)."
    _still_serves(sandbox, language)


OPEN_FILES = {
    "python": """
def handler(e, c):
    files = []
    try:
        while True:
            files.append(open("/dev/null"))
    finally:
        print(len(files))
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  const fds = [];
  try { for (;;) fds.push(fs.openSync("/dev/null", "r")); }
  finally { console.log(fds.length); }
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_open_files_are_limited(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, OPEN_FILES[language], {}, {})
    assert result.outcome is Ending.ERROR, result
    assert "Too many open files" in (result.error or "") or "EMFILE" in (result.error or "")
    assert 0 < int(result.logs) <= 256  # the sandbox's RLIMIT_NOFILE, not the worker's
    _still_serves(sandbox, language)


FILL_SHM = {
    "python": """
import errno
def handler(e, c):
    chunk = b"x" * 2**20
    written = 0
    try:
        while written < 1024:
            with open(f"/dev/shm/fill-{written}", "wb") as f:
                f.write(chunk)
            written += 1
    except OSError as exc:
        return {"mib": written, "error": errno.errorcode[exc.errno]}
    return {"mib": written, "error": None}
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  const chunk = Buffer.alloc(2 ** 20, 120);
  let written = 0;
  try {
    for (; written < 1024; written++) fs.writeFileSync(`/dev/shm/fill-${written}`, chunk);
  } catch (error) {
    return { mib: written, error: error.code };
  }
  return { mib: written, error: null };
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_shared_memory_is_small(sandbox: Sandbox, language: str) -> None:
    """Many files, each under the file-size limit: /dev/shm must not be a way around /tmp's."""
    result = sandbox.run(language, FILL_SHM[language], {}, {}, Limits(file_size_mb=1024))
    assert result.outcome is Ending.OK, result
    assert result.output["error"] == "ENOSPC"
    assert result.output["mib"] <= 16
    _still_serves(sandbox, language)
