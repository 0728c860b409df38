"""The warm pools under concurrency and faults: threads, a killed or hung zygote, a fork."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.sandbox import Ending, Sandbox, run_code
from runtime.sandbox.api import default_sandbox

ECHO = {
    "python": "def handler(event, context):\n    return event['n'] * 2\n",
    "javascript": "export async function handler(event) { return event.n * 2; }",
}


def test_concurrent_executions_from_four_threads(sandbox: Sandbox) -> None:
    jobs = [(language, n) for n in range(12) for language in ECHO]

    def run(job: tuple[str, int]) -> object:
        language, n = job
        result = sandbox.run(language, ECHO[language], {"n": n}, {})
        assert result.outcome is Ending.OK, result
        return result.output

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(run, jobs))
    assert outputs == [n * 2 for _, n in jobs]


def _zygote_pid(sandbox: Sandbox) -> int:
    """The host PID of the Python zygote itself (a descendant of bubblewrap)."""
    zygote = sandbox.python.current()
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    todo = [zygote.process.pid]
    while todo:
        pid = todo.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            argv = []
        if argv[0].endswith(b"python3") and any(b"zygote.py" in arg for arg in argv):
            return pid  # bubblewrap's own command line names zygote.py too: skip it
        todo.extend(children.get(pid, []))
    raise AssertionError("no zygote process found")


def test_killed_zygote_is_replaced(sandbox: Sandbox) -> None:
    pid = _zygote_pid(sandbox)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    result = sandbox.run("python", ECHO["python"], {"n": 4}, {})
    assert result.outcome is Ending.OK and result.output == 8
    assert _zygote_pid(sandbox) != pid


def test_hung_zygote_is_replaced(sandbox: Sandbox) -> None:
    pid = _zygote_pid(sandbox)
    os.kill(pid, signal.SIGSTOP)
    try:
        result = sandbox.run("python", ECHO["python"], {"n": 5}, {})
    finally:
        with contextlib.suppress(ProcessLookupError):  # normally already killed by the pool
            os.kill(pid, signal.SIGCONT)
    assert result.outcome is Ending.OK and result.output == 10
    assert _zygote_pid(sandbox) != pid


def test_a_forked_worker_gets_its_own_sandbox(settings: SettingsWrapper, runner_dir: Path) -> None:
    """Celery prefork: a child process must not use its parent's pool."""
    settings.TRIBUTARY_CODE_RUNNER_DIR = runner_dir
    parent = default_sandbox()
    assert run_code("python", ECHO["python"], {"n": 1}, {}).output == 2
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            mine = default_sandbox()
            result = run_code("python", ECHO["python"], {"n": 21}, {})
            report = {"new": mine is not parent, "output": result.output}
            os.write(write_end, json.dumps(report).encode())
            mine.close()
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read_end) as stream:
        report = json.loads(stream.read() or "{}")
    assert os.waitstatus_to_exitcode(status) == 0
    assert report == {"new": True, "output": 42}
    assert run_code("python", ECHO["python"], {"n": 3}, {}).output == 6
    parent.close()


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_non_default_limits_still_work(sandbox: Sandbox, language: str) -> None:
    from runtime.sandbox import Limits

    limits = Limits(memory_mb=200, cpu_seconds=5, max_processes=4, file_size_mb=2)
    for n in range(3):
        assert sandbox.run(language, ECHO[language], {"n": n}, {}, limits).output == n * 2


def test_code_that_reports_early_and_goes_on_is_killed(sandbox: Sandbox) -> None:
    """Forging the runner's report does not buy a process that outlives its execution."""
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**5}"
    source = f"""
import os
def handler(event, context):
    os.write(3, b'O"forged"')
    os.close(3)
    os.execv("/usr/bin/sleep", ["sleep", "{marker}"])
"""
    result = sandbox.run("python", source, {}, {})
    assert result.output == "forged"  # the code's own process may say what it likes...
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(marker)  # ...but it does not keep running


def _running(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode("latin-1"):
                    return True
            except OSError:
                continue
    return False
