"""The scheduler loop: wakes delayed and retrying steps and recovers lost work.

It runs as `manage.py scheduler` next to the workers (inside `serve` in the embedded
default). Several may run at once; each pass is safe to repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections

from runtime import recovery

logger = logging.getLogger(__name__)

# (seconds between passes, job): waking is what users wait on, recovery is a safety net.
JOBS: list[tuple[float, Callable[[], int]]] = [
    (0.25, recovery.wake_due_steps),
    (2.0, recovery.requeue_expired_leases),
    (5.0, recovery.requeue_lost_messages),
]


def run_forever(stop: threading.Event) -> None:
    due = dict.fromkeys(range(len(JOBS)), 0.0)
    while not stop.is_set():
        now = time.monotonic()
        for index, (every, job) in enumerate(JOBS):
            if now >= due[index]:
                due[index] = now + every
                _run(job)
        stop.wait(max(0.0, min(due.values()) - time.monotonic()))


def _run(job: Callable[[], int]) -> None:
    close_old_connections()
    try:
        job()
    except Exception:  # one bad pass (database restarting...) must not stop the loop
        logger.exception("Scheduler job %s failed; retrying on its next pass", job.__name__)


def start_thread() -> threading.Event:
    """Run the loop in a daemon thread (the embedded default); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(stop,), name="scheduler", daemon=True).start()
    return stop
