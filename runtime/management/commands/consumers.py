"""Run the queue-trigger consumers: one per active trigger.queue node of a live version.
Several may run (on several machines): each trigger is consumed by one of them at a time."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from runtime.triggers.queue import supervisor


class Command(BaseCommand):
    help = "Consume the message queues of active queue triggers until interrupted."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Consumers running.")
        self.stdout.flush()
        supervisor.run_forever(stop)
        self.stdout.write("Consumers stopped.")
