"""Run the scheduler: wakes delays and retries, recovers steps from dead workers and lost
broker messages. Run one or more next to the Celery workers."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from runtime.engine import scheduler


class Command(BaseCommand):
    help = "Run Tributary's scheduler loop until interrupted."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Scheduler running.")
        scheduler.run_forever(stop)
        self.stdout.write("Scheduler stopped.")
