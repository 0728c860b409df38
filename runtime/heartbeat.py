"""Leases for running steps, kept alive by a heartbeat thread.

A worker that claims a step holds a lease of TRIBUTARY_STEP_LEASE_SECONDS and renews it
every fifth of that while the step runs. If the worker dies (SIGKILL, OOM, lost machine)
the renewals stop, the lease expires and the scheduler hands the step to another worker.
A renewal that updates nothing means the step was cancelled (or taken over): the
heartbeat sets ``cancelled`` so the step can stop early.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from types import TracebackType

from django.conf import settings
from django.db import connection
from django.utils import timezone

from runtime.models import StepRun
from runtime.status import StepStatus


def lease_deadline() -> datetime:
    return timezone.now() + timedelta(seconds=settings.TRIBUTARY_STEP_LEASE_SECONDS)


class Heartbeat:
    def __init__(self, step_id: int, claim: uuid.UUID, cancelled: threading.Event):
        self.step_id = step_id
        self.claim = claim
        self.cancelled = cancelled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{step_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        interval = settings.TRIBUTARY_STEP_LEASE_SECONDS / 5
        try:
            while not self._stop.wait(interval):
                renewed = StepRun.objects.filter(
                    pk=self.step_id, claim=self.claim, status=StepStatus.RUNNING
                ).update(lease_expires_at=lease_deadline())
                if not renewed:
                    self.cancelled.set()
                    return
        finally:
            connection.close()  # this thread's own connection
