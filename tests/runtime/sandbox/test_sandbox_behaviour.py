"""What code steps get back, for both languages: outputs, logs, errors, limits, bad output."""

from __future__ import annotations

import time

import pytest

from runtime.sandbox import Ending, Limits, Sandbox

LANGUAGES = ["python", "javascript"]

OK = {
    "python": """
import sys
def handler(event, context):
    print("hello", event["a"])
    print("to stderr", file=sys.stderr)
    return {"sum": event["a"] + context["b"], "text": "héllo"}
""",
    "javascript": """
export async function handler(event, context) {
  console.log("hello", event.a);
  console.error("to stderr");
  return { sum: event.a + context.b, text: "héllo" };
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_output_and_logs(sandbox: Sandbox, language: str) -> None:
    lines: list[str] = []
    result = sandbox.run(language, OK[language], {"a": 2}, {"b": 3}, on_log=lines.append)
    assert result.outcome is Ending.OK, result
    assert result.output == {"sum": 5, "text": "héllo"}
    assert result.logs == "hello 2\nto stderr\n"
    assert lines == ["hello 2", "to stderr"]
    assert result.error is None and result.duration_ms > 0


ERROR = {
    "python": """
def helper(value):
    raise ValueError(f"bad value {value}")

def handler(event, context):
    helper(42)
""",
    "javascript": """
function helper(value) { throw new TypeError(`bad value ${value}`); }
export function handler(event, context) { helper(42); }
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_exception_is_an_error_with_user_frames_only(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, ERROR[language], {}, {})
    assert result.outcome is Ending.ERROR
    name = "ValueError" if language == "python" else "TypeError"
    assert result.error == f"{name}: bad value 42"
    assert result.traceback is not None
    assert "helper" in result.traceback and "handler" in result.traceback
    for internal in ("zygote", "execute.py", "node_runner", "node:internal", "[eval", "guest"):
        assert internal not in result.traceback


@pytest.mark.parametrize(
    ("language", "source", "message"),
    [
        ("python", "def handler(event, context)\n    return 1\n", "SyntaxError"),
        ("python", "x = 1\n", "Define a top-level function handler(event, context)."),
        ("javascript", "export function handler( {", "SyntaxError"),
        ("javascript", "export const x = 1;", "Export a function"),
    ],
)
def test_unusable_source_is_an_error(
    sandbox: Sandbox, language: str, source: str, message: str
) -> None:
    result = sandbox.run(language, source, {}, {})
    assert result.outcome is Ending.ERROR
    assert message in (result.error or "")


def test_async_python_handler(sandbox: Sandbox) -> None:
    source = (
        "import asyncio\nasync def handler(e, c):\n    await asyncio.sleep(0.01)\n    return 7\n"
    )
    assert sandbox.run("python", source, {}, {}).output == 7


LOOP = {
    "python": "def handler(e, c):\n    while True:\n        pass\n",
    "javascript": "export function handler() { for (;;) {} }",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_busy_loop_is_stopped_by_the_cpu_limit(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(
        language, LOOP[language], {}, {}, Limits(cpu_seconds=1, timeout_seconds=20)
    )
    assert result.outcome is Ending.TIMEOUT
    assert "CPU" in (result.error or "")
    assert result.duration_ms < 10_000


HANG = {
    "python": "import time\ndef handler(e, c):\n    time.sleep(10**6)\n",
    "javascript": "export async function handler() { await new Promise(() => {}); }",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_hang_is_stopped_by_the_wall_clock(sandbox: Sandbox, language: str) -> None:
    started = time.monotonic()
    result = sandbox.run(language, HANG[language], {}, {}, Limits(timeout_seconds=1.0))
    assert result.outcome is Ending.TIMEOUT
    assert "longer than 1 s" in (result.error or "")
    assert time.monotonic() - started < 8


MEMORY_BOMBS = [
    (
        "python",
        "def handler(e, c):\n    x = []\n    while True:\n        x.append(bytearray(10**7))\n",
    ),
    ("python", "def handler(e, c):\n    return len(b'x' * 10**10)\n"),
    (
        "javascript",
        "export function handler() { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }",
    ),
    (
        "javascript",
        "export function handler() { const a = []; for (;;) a.push(Buffer.alloc(1e7, 1)); }",
    ),
]


@pytest.mark.parametrize(("language", "source"), MEMORY_BOMBS)
def test_memory_bomb_is_out_of_memory(sandbox: Sandbox, language: str, source: str) -> None:
    result = sandbox.run(language, source, {}, {}, Limits(memory_mb=128, timeout_seconds=30))
    assert result.outcome is Ending.OOM, result
    assert "128 MiB" in (result.error or "")


BIG_FILE = {
    "python": """
def handler(e, c):
    chunk = b"x" * 2**20
    with open("/tmp/big", "wb") as f:
        for _ in range(1024):
            f.write(chunk)
""",
    "javascript": """
import fs from "node:fs";
export function handler() {
  const chunk = Buffer.alloc(2 ** 20, 120);
  const fd = fs.openSync("/tmp/big", "w");
  for (let i = 0; i < 1024; i++) fs.writeSync(fd, chunk);
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_gigabyte_file_fails(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, BIG_FILE[language], {}, {})
    assert result.outcome is Ending.ERROR, result
    assert "File too large" in (result.error or "") or "EFBIG" in (result.error or "")


@pytest.mark.parametrize("language", LANGUAGES)
def test_full_tmp_fails(sandbox: Sandbox, language: str) -> None:
    limits = Limits(file_size_mb=1024, tmp_mb=8)
    result = sandbox.run(language, BIG_FILE[language], {}, {}, limits)
    assert result.outcome is Ending.ERROR, result
    assert "no space left" in (result.error or "").lower()  # ENOSPC, not the file-size limit


BIG_OUTPUT = {
    "python": "def handler(e, c):\n    return 'x' * (100 * 2**20)\n",
    "javascript": "export function handler() { return 'x'.repeat(100 * 2 ** 20); }",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_hundred_megabytes_of_output_is_too_large(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, BIG_OUTPUT[language], {}, {}, Limits(memory_mb=1024))
    assert result.outcome is Ending.OUTPUT_TOO_LARGE, result
    assert "104857602 bytes" in (result.error or "")


BIG_LOGS = {
    "python": """
import sys
def handler(e, c):
    for _ in range(100):
        sys.stdout.write("x" * 2**20 + "\\n")
    return 1
""",
    "javascript": """
export function handler() {
  for (let i = 0; i < 100; i++) process.stdout.write("x".repeat(2 ** 20) + "\\n");
  return 1;
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_hundred_megabytes_of_logs_are_truncated(sandbox: Sandbox, language: str) -> None:
    result = sandbox.run(language, BIG_LOGS[language], {}, {}, Limits(log_bytes=10_000))
    assert result.outcome is Ending.OK and result.output == 1
    assert len(result.logs) < 10_200
    assert "[logs truncated at 10000 bytes]" in result.logs


INVALID = [
    ("python", "def handler(e, c):\n    return float('nan')\n", "NaN"),
    ("python", "def handler(e, c):\n    return {'x': float('inf')}\n", "Infinity"),
    ("python", "def handler(e, c):\n    return 'a\\x00b'\n", "NUL"),
    ("python", "def handler(e, c):\n    return {1, 2}\n", "not JSON serializable"),
    ("python", "def handler(e, c):\n    return '\\ud800'\n", "UTF-8"),
    ("javascript", "export function handler() { return NaN; }", "NaN"),
    ("javascript", "export function handler() { return {x: -Infinity}; }", "Infinity"),
    ("javascript", "export function handler() { return 'a\\u0000b'; }", "NUL"),
    ("javascript", "export function handler() { return 10n; }", "BigInt"),
    ("javascript", "export function handler() { return '\\ud800'; }", "surrogate"),
]


@pytest.mark.parametrize(("language", "source", "reason"), INVALID)
def test_unstorable_output_is_invalid(
    sandbox: Sandbox, language: str, source: str, reason: str
) -> None:
    result = sandbox.run(language, source, {}, {})
    assert result.outcome is Ending.INVALID_OUTPUT, result
    assert reason in (result.error or "")


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("python", "def handler(e, c):\n    print('not json {')\n    return None\n"),
        ("javascript", "export function handler() { console.log('not json {'); }"),
    ],
)
def test_printing_non_json_is_just_logs(sandbox: Sandbox, language: str, source: str) -> None:
    result = sandbox.run(language, source, {}, {})
    assert result.outcome is Ending.OK and result.output is None
    assert result.logs == "not json {\n"


def test_logs_arrive_while_the_code_runs(sandbox: Sandbox) -> None:
    source = (
        "import time\ndef handler(e, c):\n    print('first')\n    time.sleep(1)\n    print('2nd')"
    )
    seen: list[tuple[str, float]] = []
    sandbox.run("python", source, {}, {}, on_log=lambda line: seen.append((line, time.monotonic())))
    assert [line for line, _ in seen] == ["first", "2nd"]
    assert seen[1][1] - seen[0][1] > 0.5
