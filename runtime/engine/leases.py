"""Leases for running steps, kept alive by one heartbeat thread per process.

A worker that claims a step holds a lease of TRIBUTARY_STEP_LEASE_SECONDS; the heartbeat
renews the lease of every step the process is running every fifth of that. If the worker
dies (SIGKILL, OOM, lost machine) the renewals stop, the lease expires and the scheduler
hands the step to another worker. A renewal that updates nothing means the step was
cancelled (or taken over): the heartbeat sets the step's ``cancelled`` event so the step
can stop early. Each renewal also stores the lines a code step has printed so far (they are
streamed live as printed; this is for pages that connect later).

One long-lived thread rather than one per step: starting and joining a thread cost about
half a millisecond, a real share of a short step.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from runtime.engine.perprocess import PerProcess
from runtime.engine.status import StepStatus
from runtime.models import StepRun

logger = logging.getLogger(__name__)


def lease_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=settings.TRIBUTARY_STEP_LEASE_SECONDS)


class Heartbeat:
    """``with Heartbeat(step_id, claim, cancelled):`` keeps the step's lease while the
    block runs."""

    def __init__(
        self,
        step_id: int,
        claim: uuid.UUID,
        cancelled: threading.Event,
        logs: Callable[[], str] | None = None,
    ):
        self.step_id = step_id
        self.claim = claim
        self.cancelled = cancelled
        self.logs = logs
        self.stored_logs = ""

    def __enter__(self) -> Heartbeat:
        _Beater.get().add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _Beater.get().remove(self)


class _Beater(PerProcess):
    """The process's heartbeat thread."""

    def __init__(self) -> None:
        self.beats: dict[int, Heartbeat] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()

    def add(self, beat: Heartbeat) -> None:
        with self.lock:
            self.beats[beat.step_id] = beat

    def remove(self, beat: Heartbeat) -> None:
        with self.lock:
            if self.beats.get(beat.step_id) is beat:
                del self.beats[beat.step_id]

    def _run(self) -> None:
        stop = threading.Event()  # never set: the thread lives as long as the process
        while not stop.wait(settings.TRIBUTARY_STEP_LEASE_SECONDS / 5):
            with self.lock:
                beats = list(self.beats.values())
            if not beats:
                continue
            try:
                close_old_connections()  # this thread's own connection, kept between beats
                for beat in beats:
                    self._renew(beat)
            except Exception:  # the database restarting must not end the heartbeat
                logger.exception("Could not renew step leases; trying again next beat")

    def _renew(self, beat: Heartbeat) -> None:
        fields: dict[str, Any] = {"lease_expires_at": lease_deadline()}
        logs = beat.logs() if beat.logs is not None else ""
        if logs != beat.stored_logs:
            fields["logs"] = logs
        renewed = StepRun.objects.filter(
            pk=beat.step_id, claim=beat.claim, status=StepStatus.RUNNING
        ).update(**fields)
        if renewed:
            beat.stored_logs = logs
        else:
            beat.cancelled.set()
            self.remove(beat)
