"""The scheduler loop: fires cron schedules, turns database changes into runs, wakes
delayed and retrying steps, and recovers lost work.

It runs as `manage.py scheduler` next to the workers (inside `serve` in the embedded
default). Several may run at once; each pass is safe to repeat (row locks with SKIP
LOCKED, unique fire records and conditional updates).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection

from runtime.engine import recovery, retention, waits
from runtime.images.register import fail_abandoned_pulls
from runtime.triggers.cron import fire
from runtime.triggers.dbchange import outbox

logger = logging.getLogger(__name__)

Job = tuple[float, Callable[[], int]]
# (seconds between passes, job). Cron is checked often so a 02:00 run starts within a
# fraction of a second; recovery is a safety net and can be lazier.
JOBS: list[Job] = [
    (0.2, fire.fire_due_schedules),
    (0.25, recovery.wake_due_steps),
    (1.0, outbox.drain_outbox),
    (2.0, recovery.requeue_expired_leases),
    (2.0, recovery.admit_queued_runs),
    (2.0, recovery.wake_stranded_parents),
    (2.0, recovery.cancel_orphaned_children),
    (5.0, recovery.requeue_lost_messages),
    (60.0, waits.prune_events),
    (60.0, fail_abandoned_pulls),
    (3600.0, retention.prune_some),
]
DRAIN = 2  # the job a change notification runs at once


def run_forever(stop: threading.Event) -> None:
    wake = threading.Event()
    if connection.vendor == "postgresql":
        threading.Thread(
            target=outbox.listen, args=(wake, stop), name="change-listener", daemon=True
        ).start()
    due = [0.0] * len(JOBS)
    while not stop.is_set():
        if wake.is_set():
            wake.clear()
            due[DRAIN] = 0.0
        now = time.monotonic()
        for index, (every, job) in enumerate(JOBS):
            if now >= due[index]:
                due[index] = now + every
                _run(job)
        wake.wait(max(0.0, min(due) - time.monotonic()))


def _run(job: Callable[[], int]) -> None:
    close_old_connections()
    try:
        job()
    except Exception:  # one bad pass (database restarting...) must not stop the loop
        logger.exception("A scheduler job failed; it runs again on its next pass")


def start_thread() -> threading.Event:
    """Run the loop in a daemon thread (the embedded default); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(stop,), name="scheduler", daemon=True).start()
    return stop
