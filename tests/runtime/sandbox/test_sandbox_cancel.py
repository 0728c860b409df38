"""Cancelling a running execution: the caller's event stops it at once, whatever it does.

The heartbeat sets the event when a run is cancelled; the code must not go on to its
timeout. Each runaway names its process (``comm``) with a marker, so the test can see it
running before cancelling and see that nothing of it is left afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from runtime.sandbox import Ending, Limits, Sandbox

RUNAWAYS = {
    ("python", "busy loop"): """
import ctypes
def handler(event, context):
    ctypes.CDLL(None).prctl(15, event["marker"].encode(), 0, 0, 0)  # PR_SET_NAME
    while True:
        pass
""",
    ("python", "sleep"): """
import ctypes, time
def handler(event, context):
    ctypes.CDLL(None).prctl(15, event["marker"].encode(), 0, 0, 0)  # PR_SET_NAME
    time.sleep(100)
""",
    ("javascript", "busy loop"): """
export function handler(event) {
  process.title = event.marker;
  for (;;) {}
}
""",
    ("javascript", "sleep"): """
export async function handler(event) {
  process.title = event.marker;
  await new Promise((resolve) => setTimeout(resolve, 100_000));
}
""",
}
# Far beyond how long a cancelled execution may take to return: the outcome must be
# cancelled, never timeout.
LIMITS = Limits(timeout_seconds=60, cpu_seconds=60)
OK_SOURCE = {
    "python": "def handler(event, context):\n    return 'still serving'\n",
    "javascript": "export function handler() { return 'still serving'; }",
}


def _named(marker: str) -> list[int]:
    """Live (not zombie) processes whose name or command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names = stat + (entry / "cmdline").read_bytes().decode("latin-1")
        except OSError:
            continue
        if marker in names and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found


def _cancel_when_running(marker: str, cancelled: threading.Event, seen: dict) -> None:
    deadline = time.monotonic() + 30
    while not _named(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    seen["was running"] = bool(_named(marker))
    seen["cancelled at"] = time.monotonic()
    cancelled.set()


@pytest.mark.parametrize(("language", "behaviour"), sorted(RUNAWAYS))
def test_cancelling_kills_the_running_code_at_once(
    sandbox: Sandbox, language: str, behaviour: str
) -> None:
    marker = f"cx{uuid.uuid4().hex[:10]}"
    cancelled = threading.Event()
    seen: dict = {}
    canceller = threading.Thread(target=_cancel_when_running, args=(marker, cancelled, seen))
    canceller.start()
    try:
        source = RUNAWAYS[language, behaviour]
        result = sandbox.run(language, source, {"marker": marker}, {}, LIMITS, cancelled=cancelled)
        returned_at = time.monotonic()
    finally:
        cancelled.set()
        canceller.join()
    assert seen["was running"], "the code never started"
    assert result.outcome is Ending.CANCELLED, result
    assert result.error == "Cancelled while running"
    # Not a speed measurement: returning long before the 60 s timeout is the behaviour.
    assert returned_at - seen["cancelled at"] < 5
    deadline = time.monotonic() + 5
    while _named(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _named(marker) == [], "the cancelled code is still running"
    after = sandbox.run(language, OK_SOURCE[language], {}, {}, cancelled=threading.Event())
    assert after.outcome is Ending.OK and after.output == "still serving"


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_an_execution_cancelled_before_it_starts_does_not_run(
    sandbox: Sandbox, language: str
) -> None:
    cancelled = threading.Event()
    cancelled.set()
    source = RUNAWAYS[language, "sleep"]
    result = sandbox.run(language, source, {"marker": "cxnever"}, {}, LIMITS, cancelled=cancelled)
    assert result.outcome is Ending.CANCELLED and result.error == "Cancelled while running"
    assert result.duration_ms == 0  # no execution was even handed to a sandbox
