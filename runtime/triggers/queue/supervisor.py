"""Follow the active queue triggers: one Consumer per QueueSubscription of a live,
unarchived flow, replaced when its revision changes and stopped when it goes away.
Publishing, rolling back or archiving changes the rows; this notices within POLL seconds."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, connection

from runtime.models import QueueSubscription
from runtime.triggers.queue.listener import Consumer

logger = logging.getLogger(__name__)
POLL = 1.0
JOIN = 5.0


def run_forever(stop: threading.Event) -> None:
    consumers: dict[int, Consumer] = {}
    try:
        while not stop.is_set():
            try:
                wanted = _wanted()
            except DatabaseError:
                logger.warning("Cannot read the queue triggers; trying again", exc_info=True)
                connection.close()
                stop.wait(POLL * 2)
                continue
            _reconcile(consumers, wanted)
            stop.wait(POLL)
    finally:
        for consumer in consumers.values():
            consumer.stop.set()
        for consumer in consumers.values():
            consumer.thread.join(JOIN)
        connection.close()


def _wanted() -> dict[int, int]:
    rows = QueueSubscription.objects.filter(
        flow__archived_at__isnull=True, flow__live_version__isnull=False
    ).values_list("pk", "revision")
    return dict(rows)


def _reconcile(consumers: dict[int, Consumer], wanted: dict[int, int]) -> None:
    for pk, consumer in list(consumers.items()):
        if wanted.get(pk) != consumer.revision or not consumer.alive:
            consumer.stop.set()
            # Let it hand back what it holds and release its lock before a successor starts.
            consumer.thread.join(JOIN)
            del consumers[pk]
    for pk, revision in wanted.items():
        if pk not in consumers:
            consumers[pk] = Consumer(pk, revision)
            consumers[pk].start()


def start_thread() -> threading.Event:
    """Run the supervisor in a daemon thread (the embedded default); set the event to stop."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(stop,), name="queue-consumers", daemon=True).start()
    return stop
