"""Programs a code step starts: few at once, and none outliving the step, however it ends.

JavaScript starts programs with child_process, Python with subprocess or os.fork. Every
child here carries a unique marker (see ``processes``) so the test can watch it from the
host: it must be gone shortly after the step ends, whether the handler returned, raised,
ran out of time or was cancelled, and however the child detached itself (its own session,
a double fork, polite signals ignored).
"""

from __future__ import annotations

import threading
import time

import pytest

from runtime.sandbox import Ending, Limits, Sandbox

from .processes import PeakCounter, live_processes, new_marker, wait_until_gone

LANGUAGES = ["python", "javascript"]


@pytest.fixture(params=["bubblewrap", "fallback"])
def either_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Children must die with their step in the fallback too (its own PID namespaces)."""
    name = "sandbox" if request.param == "bubblewrap" else "sandbox_without_bwrap"
    sandbox: Sandbox = request.getfixturevalue(name)
    return sandbox


OK_SOURCE = {
    "python": "def handler(event, context):\n    return 'still serving'\n",
    "javascript": "export function handler() { return 'still serving'; }",
}

# Three children that each try to outlive the step: detached in a session of their own,
# started through setsid(1), and daemonised by a double fork with HUP/INT/TERM ignored.
# Each writes a file once running, and the handler waits for the three before it ends, so
# an ending can never come before the children exist.
DETACHING = {
    "python": """
import os, signal, subprocess, time

def _started(names):
    for _ in range(500):
        if all(os.path.exists(f"/tmp/{name}") for name in names):
            return
        time.sleep(0.01)
    raise RuntimeError("the children did not start")

def handler(event, context):
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}
    run = lambda name: f"echo > /tmp/{name}; exec /usr/bin/sleep {event['marker']}"
    subprocess.Popen(["/bin/sh", "-c", run("a")], start_new_session=True, **quiet)
    subprocess.Popen(["/usr/bin/setsid", "-f", "/bin/sh", "-c", run("b")], **quiet)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_IGN)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in range(4):
                os.dup2(null, fd)
            os.execv("/bin/sh", ["sh", "-c", run("c")])
        os._exit(0)
    _started("abc")
    if event["ending"] == "error":
        raise RuntimeError("the handler failed")
    if event["ending"] == "hang":
        time.sleep(600)
    return "returned"
""",
    "javascript": """
import { spawn } from "node:child_process";
import fs from "node:fs";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function started(names) {
  for (let i = 0; i < 500; i++) {
    if (names.every((name) => fs.existsSync(`/tmp/${name}`))) return;
    await pause(10);
  }
  throw new Error("the children did not start");
}

export async function handler(event) {
  const run = (name) => `echo > /tmp/${name}; exec /usr/bin/sleep ${event.marker}`;
  spawn("/bin/sh", ["-c", run("a")], { detached: true, stdio: "ignore" }).unref();
  spawn("/usr/bin/setsid", ["-f", "/bin/sh", "-c", run("b")], { stdio: "ignore" }).unref();
  const daemon = `(trap '' HUP INT TERM; ${run("c")}) &`;
  spawn("/bin/sh", ["-c", daemon], { detached: true, stdio: "ignore" }).unref();
  await started(["a", "b", "c"]);
  if (event.ending === "error") throw new Error("the handler failed");
  if (event.ending === "hang") await new Promise(() => {});
  return "returned";
}
""",
}
ENDINGS = {
    # ending: (what the handler does, the outcome, how the error ends)
    "returns": ("return", Ending.OK, ""),
    "raises": ("error", Ending.ERROR, "Error: the handler failed"),
    "times out": ("hang", Ending.TIMEOUT, "The code ran longer than 3 s and was stopped."),
    "is cancelled": ("hang", Ending.CANCELLED, "Cancelled while running"),
}
LIMITS = Limits(timeout_seconds=3)
# A cancel must come before the timeout even on a loaded machine, where starting three
# children can take seconds: the cancelled step gets a timeout it never reaches.
CANCELLABLE = Limits(timeout_seconds=30)


def _cancel_when_running(
    marker: str, count: int, cancelled: threading.Event, seen: list[int]
) -> None:
    """Cancel once ``count`` processes hold the marker; ``seen`` gets how many it saw (the
    double fork's middle process lives only moments: the peak counter may miss the instant
    this thread saw)."""
    deadline = time.monotonic() + 30
    while (found := len(live_processes(marker))) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    seen.append(found)
    cancelled.set()


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_detached_children_die_when_the_step_ends(
    either_sandbox: Sandbox, language: str, ending: str
) -> None:
    sandbox = either_sandbox
    marker = new_marker()
    does, outcome, error = ENDINGS[ending]
    cancelled = threading.Event()
    seen_by_canceller: list[int] = []
    canceller = threading.Thread(
        target=_cancel_when_running, args=(marker, 3, cancelled, seen_by_canceller)
    )
    if ending == "is cancelled":
        canceller.start()
    event = {"marker": marker, "ending": does}
    try:
        with PeakCounter(marker) as seen:
            source = DETACHING[language]
            limits = CANCELLABLE if ending == "is cancelled" else LIMITS
            result = sandbox.run(language, source, event, {}, limits, cancelled=cancelled)
    finally:
        cancelled.set()
        if canceller.is_alive():
            canceller.join()
    assert result.outcome is outcome, result
    assert (result.error or "").endswith(error), result.error  # RuntimeError in Python
    if does == "hang":  # seen from the host while the step ran, so not a vacuous pass
        assert max([seen.peak, *seen_by_canceller]) >= 3
    assert wait_until_gone(marker) == [], "a child outlived its step"
    assert sandbox.run(language, OK_SOURCE[language], {}, {}).output == "still serving"


# Each bomb loops for ever: the step can only end by its timeout, and every process it
# made carries the marker (in its command line, or its name for Python's forks).
FORK_BOMBS = {
    ("javascript", "bash fork bomb spawned in a loop"): """
import { spawn } from "node:child_process";
export function handler(event) {
  const bomb = `:(){ :|:& };: # ${event.marker}`;
  for (;;) {
    try { spawn("/usr/bin/bash", ["-c", bomb], { stdio: "ignore" }).on("error", () => {}); }
    catch (error) {}
  }
}
""",
    ("javascript", "detached children spawned without end"): """
import { spawn } from "node:child_process";
export async function handler(event) {
  for (;;) {
    const child = spawn("/usr/bin/sleep", [event.marker], { detached: true, stdio: "ignore" });
    child.on("error", () => {});
    child.unref();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
""",
    ("python", "os.fork loop"): """
import ctypes, os
def handler(event, context):
    ctypes.CDLL(None).prctl(15, event["marker"].encode(), 0, 0, 0)  # PR_SET_NAME
    while True:
        try:
            os.fork()
        except OSError:
            pass
""",
    ("python", "bash fork bomb started in a loop"): """
import subprocess
def handler(event, context):
    bomb = ":(){ :|:& };: # " + event["marker"]
    while True:
        try:
            subprocess.Popen(["/usr/bin/bash", "-c", bomb], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            pass
""",
}
BOMB_LIMITS = Limits(timeout_seconds=3, max_processes=8)


@pytest.mark.parametrize(("language", "bomb"), sorted(FORK_BOMBS))
def test_a_fork_bomb_is_held_to_the_process_limit_and_stopped_by_the_timeout(
    sandbox: Sandbox, language: str, bomb: str
) -> None:
    marker = new_marker()
    started = time.monotonic()
    with PeakCounter(marker) as seen:
        result = sandbox.run(
            language, FORK_BOMBS[language, bomb], {"marker": marker}, {}, BOMB_LIMITS
        )
    returned_at = time.monotonic()
    assert result.outcome is Ending.TIMEOUT, result
    assert result.error == "The code ran longer than 3 s and was stopped."
    # Not a speed measurement: a bomb must not hold the worker past the step's timeout.
    assert returned_at - started < BOMB_LIMITS.timeout_seconds + 3
    assert 2 <= seen.peak <= BOMB_LIMITS.max_processes, seen.peak
    assert wait_until_gone(marker) == [], "part of the bomb outlived its step"


def test_other_steps_run_while_a_fork_bomb_holds_its_sandbox(sandbox: Sandbox) -> None:
    """The bomb fills its own process limit, not the machine's process table."""
    marker = new_marker()
    source = FORK_BOMBS["javascript", "bash fork bomb spawned in a loop"]
    limits = Limits(timeout_seconds=6, max_processes=8)
    bomb = threading.Thread(
        target=sandbox.run, args=("javascript", source, {"marker": marker}, {}, limits)
    )
    with PeakCounter(marker) as seen:
        bomb.start()
        # Sampled: bash bombs die and fork all the time, so the exact limit may be missed.
        near_limit = limits.max_processes // 2
        deadline = time.monotonic() + 5
        while seen.peak < near_limit and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen.peak >= near_limit, "the bomb never came near its limit"
        during = {
            language: sandbox.run(language, OK_SOURCE[language], {}, {}) for language in LANGUAGES
        }
        assert live_processes(marker), "the bomb ended before the other steps ran"
        bomb.join()
    for language, result in during.items():
        assert result.outcome is Ending.OK and result.output == "still serving", language
    assert wait_until_gone(marker) == []


OVER_THE_LIMIT = {
    "python": """
import subprocess
def handler(event, context):
    children = [subprocess.Popen(["/usr/bin/sleep", event["marker"]]) for _ in range(40)]
    return len(children)
""",
    "javascript": """
import { spawn } from "node:child_process";
export async function handler(event) {
  const children = [];
  for (let i = 0; i < 40; i++) children.push(spawn("/usr/bin/sleep", [event.marker]));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return children.length;
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_starting_more_processes_than_the_limit_fails_with_the_systems_error(
    either_sandbox: Sandbox, language: str
) -> None:
    sandbox = either_sandbox
    marker = new_marker()
    result = sandbox.run(language, OVER_THE_LIMIT[language], {"marker": marker}, {}, BOMB_LIMITS)
    assert result.outcome is Ending.ERROR, result
    expected = "EAGAIN" if language == "javascript" else "Resource temporarily unavailable"
    assert expected in (result.error or ""), result.error
    assert wait_until_gone(marker) == []


COUNT_CHILDREN = {
    "python": """
import os, time
def handler(event, context):
    started = 0
    for _ in range(200):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        except OSError:
            break
    return started
""",
    "javascript": """
import { spawn } from "node:child_process";
export async function handler() {
  const children = [];
  for (let i = 0; i < 200; i++) {
    const child = spawn("/usr/bin/sleep", ["30"], { stdio: "ignore" });
    child.on("error", () => {});
    children.push(child);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return children.filter((child) => child.pid !== undefined && child.exitCode === null).length;
}
""",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_code_itself_sees_its_process_limit(either_sandbox: Sandbox, language: str) -> None:
    sandbox = either_sandbox
    result = sandbox.run(language, COUNT_CHILDREN[language], {}, {}, Limits(max_processes=8))
    assert result.outcome is Ending.OK, result
    assert 0 < result.output <= 8
