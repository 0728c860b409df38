"""A worker told to stop with SIGTERM finishes the steps it is running, even when every one
of its processes gets the signal.

SIGTERM to a Celery worker's main process is a warm shutdown: it takes no more tasks and
waits for the running ones. But a SIGTERM sent to *all* its processes — systemd's default
``KillMode=control-group``, ``pkill -TERM -f celery``, an init that signals the whole
process group — also reaches the pool processes, which billiard ends at once (celery#4795):
they die mid-step. Their steps then run again once their leases expire, repeating any
effect that had happened — the outcome of a SIGKILL, from a signal meant to be graceful
(found by tests/runtime/engine/test_chaos.py).

So a pool process defers SIGTERM while it runs a task and acts on it once idle again: a
moment after the task returns, so its result reaches the main process first. An idle pool
process still ends at once. What this changes besides: a cold shutdown (a second Ctrl-C,
SIGQUIT) also lets running steps finish before their processes end, and a step past its
hard time limit is ended by the SIGKILL that billiard sends 0.1 s after its SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)
# After a task returns, the pool process sends its result to the main process; a deferred
# SIGTERM takes effect this much later, so that the result is not lost with the process.
RESULT_GRACE_SECONDS = 0.2


class _Task:
    """Whether this pool process runs a task, and whether a SIGTERM waits for it to end.
    Read and written in the process's main thread (signal handlers run there too)."""

    running = False
    stop_requested = False
    # What SIGTERM did before: billiard's handler, which exits through SystemExit so that
    # ``finally`` blocks run.
    previous: Any = signal.SIG_DFL


def task_started(**_: Any) -> None:
    """Celery's ``task_prerun``, in the process that runs the task. The handler is put in
    place here rather than when the process starts, because billiard installs its own
    after Celery's start-up hooks have run."""
    handler = signal.getsignal(signal.SIGTERM)
    # Once per process; not where SIGTERM is ignored anyway (REMAP_SIGTERM), nor for a task
    # run in a thread (the embedded worker), whose process's SIGTERM is not ours to change.
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and handler not in (signal.SIG_IGN, _on_sigterm):
        _Task.previous = handler
        signal.signal(signal.SIGTERM, _on_sigterm)
    _Task.running = True


def task_finished(**_: Any) -> None:
    """Celery's ``task_postrun``."""
    _Task.running = False
    if _Task.stop_requested:
        timer = threading.Timer(RESULT_GRACE_SECONDS, _signal_self)
        timer.daemon = True
        timer.start()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _Task.running:
        if not _Task.stop_requested:
            logger.warning("SIGTERM: this worker process stops once its running step ends.")
        _Task.stop_requested = True
        return
    signal.signal(signal.SIGTERM, _Task.previous)
    if callable(_Task.previous):
        _Task.previous(signum, frame)
    else:
        _signal_self()


def _signal_self() -> None:
    # From the timer's thread the handler still runs in the main thread; a task that
    # started meanwhile (only possible when the main process is not stopping) defers again.
    os.kill(os.getpid(), signal.SIGTERM)
