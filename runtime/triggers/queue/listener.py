"""One consumer thread per active queue trigger.

It holds a PostgreSQL advisory lock for its subscription while it consumes, so however
many consumer processes run, one consumes each trigger (the others stand by and take over
when its process dies: the lock goes with the dead process's database session). A broker
that cannot be reached, or refuses us, is retried with a growing pause; the error is
logged and shown on the subscription, and never stops the process or other consumers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from runtime.models import QueueSubscription
from runtime.resources.connections.clients.base import Message, Source, Superseded, first_line
from runtime.resources.connections.params import params_of
from runtime.resources.connections.registry import BROKERS
from runtime.triggers.queue.delivery import Trigger, dead_letter, deliver
from runtime.triggers.queue.kind import consumer_group

logger = logging.getLogger(__name__)
LOCK_SPACE = 0x7472_6962  # "trib": the first key of this module's advisory locks
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
STANDBY_POLL = 2.0
# A message whose handling fails this many times for a reason other than the database
# (a bug, say) becomes a dead letter instead of holding up the queue forever.
MAX_HANDLING_FAILURES = 3
IDENTITY = f"{socket.gethostname()}:{os.getpid()}"
DB_ERRORS = (OperationalError, InterfaceError)


class Consumer:
    def __init__(self, subscription_id: int, revision: int):
        self.subscription_id = subscription_id
        self.revision = revision
        self.stop = threading.Event()
        self.locked = False
        self.backoff = BACKOFF_FIRST
        self.failures: dict[str, int] = {}
        self.thread = threading.Thread(
            target=self._main, name=f"queue-consumer-{subscription_id}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def _main(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self._once()
                except Superseded:
                    return
                except Exception as exc:  # one broker's trouble must not end the thread
                    self._failed(exc)
        finally:
            self._unlock()
            connection.close()

    def _once(self) -> None:
        subscription = (
            QueueSubscription.objects.select_related("connection", "flow")
            .filter(pk=self.subscription_id, revision=self.revision)
            .first()
        )
        if subscription is None:
            raise Superseded()
        if not self._lock():
            self._state(QueueSubscription.State.STANDBY)
            self.stop.wait(STANDBY_POLL)
            return
        trigger, source = _describe(subscription)
        params = params_of(subscription.connection)
        self._state(QueueSubscription.State.STARTING)
        BROKERS[params.kind].consume(params, source, self._handler(trigger), self.stop, self._ready)

    def _ready(self) -> None:
        self.backoff = BACKOFF_FIRST
        self._state(QueueSubscription.State.CONSUMING, error="")
        logger.info("Queue trigger %s consuming", self.subscription_id)

    def _handler(self, trigger: Trigger) -> Callable[[Message], None]:
        def handle(message: Message) -> None:
            if self.stop.is_set():
                raise Superseded()
            try:
                deliver(trigger, message)
            except (Superseded, *DB_ERRORS):
                raise
            except Exception as exc:
                key = message.message_id or repr(message.body[:200])
                self.failures[key] = self.failures.get(key, 0) + 1
                if self.failures[key] < MAX_HANDLING_FAILURES:
                    raise
                logger.exception("Queue trigger %s: giving up on a message", trigger.node_id)
                dead_letter(
                    trigger, message, f"Handling failed {self.failures.pop(key)} times: {exc}"
                )

        return handle

    def _failed(self, exc: Exception) -> None:
        message = first_line(exc)
        if isinstance(exc, DatabaseError):
            # The session (and the lock with it) may be gone: start again from a new one.
            self.locked = False
            connection.close()
        logger.warning(
            "Queue trigger %s: %s; retrying in %g s", self.subscription_id, message, self.backoff
        )
        try:
            self._state(QueueSubscription.State.RETRYING, error=message)
        except DatabaseError:
            connection.close()
            self.locked = False
        self.stop.wait(self.backoff)
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def _state(self, state: str, error: str | None = None) -> None:
        fields: dict[str, object] = {"state": state, "consumer": IDENTITY}
        if error is not None:
            fields["last_error"] = error[:1000]
            if error:
                fields["last_error_at"] = timezone.now()
        QueueSubscription.objects.filter(pk=self.subscription_id, revision=self.revision).update(
            **fields
        )

    def _lock(self) -> bool:
        if self.locked or connection.vendor != "postgresql":
            self.locked = True
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, self.lock_key])
            self.locked = bool(cursor.fetchone()[0])
        return self.locked

    def _unlock(self) -> None:
        if not self.locked or connection.vendor != "postgresql":
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, self.lock_key])
        except DatabaseError:
            pass  # the session is gone, and its locks with it
        self.locked = False

    @property
    def lock_key(self) -> int:
        return self.subscription_id % (2**31)


def _describe(subscription: QueueSubscription) -> tuple[Trigger, Source]:
    config = subscription.config
    kind = subscription.connection.kind
    trigger = Trigger(
        subscription_id=subscription.pk,
        revision=subscription.revision,
        flow_id=subscription.flow_id,
        node_id=subscription.node_id,
        kind=kind,
        connection_name=subscription.connection.name,
        source=config["source"],
        body_format=config.get("body_format", "auto"),
        max_bytes=config.get("max_message_bytes", 256 * 1024),
    )
    source = Source(
        name=config["source"],
        group=consumer_group(kind, subscription.flow_id, subscription.node_id, config),
        since_ms=int(subscription.activated_at.timestamp() * 1000),
        qos=config.get("qos", 1),
        stream=config.get("stream", ""),
    )
    return trigger, source
