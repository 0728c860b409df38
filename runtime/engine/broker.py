"""Celery's Redis transport, made to survive Redis going away while steps run.

With acks_late a running step's message stays unacknowledged in kombu's bookkeeping.
When the broker connection drops (Redis restarted, failed over, a network blip), kombu
tears the channel down and then tries to acknowledge, reject or restore those messages
through it; its Redis transport then fails with ``AttributeError: 'NoneType' object has
no attribute 'hostname'`` (kombu#582, celery#4652), which Celery treats as an
"Unrecoverable error": the whole worker exits. Seen here with a Redis killed mid-step.

Nothing is lost by letting those calls fail quietly: a Redis that restarted no longer
holds the messages, one that did not redelivers them after the visibility timeout, and
in either case PostgreSQL knows every queued or running step — the scheduler re-sends
queued ones and hands running ones whose lease expired to another worker.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis, virtual

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except AttributeError:
            self._forget(delivery_tag, "acknowledge")

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except AttributeError:
            self._forget(delivery_tag, "reject")

    def restore_unacked(self, client: Any = None) -> None:
        try:
            super().restore_unacked(client)
        except AttributeError:
            delivered = self._delivered if self._delivered is not None else {}
            logger.warning(
                "Broker connection gone: %d unacknowledged message(s) left to Postgres recovery.",
                len(delivered),
            )
            delivered.clear()

    def _forget(self, delivery_tag: Any, action: str) -> None:
        logger.warning("Broker connection gone: could not %s message %s.", action, delivery_tag)
        virtual.QoS.ack(self, delivery_tag)  # drop it from the local bookkeeping only


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
