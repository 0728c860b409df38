"""Surviving a dropped database connection without repeating a step's effect.

A worker's connection can vanish at any moment: PostgreSQL restarts, fails over, or an
idle-connection reaper ends the backend. If that happens after a step's effect and before
its result is stored, giving up would leave the step ``running`` until its lease expired
and then run the effect again. So the engine's own statements are retried on a fresh
connection. That is safe because each is conditional on the attempt's claim token: a
retry of a write whose commit did land finds "0 rows" and does nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_PAUSE, LONGEST_PAUSE = 0.05, 1.0


def reconnecting(call: Callable[[], T], *, doing: str) -> T:
    """``call()``, again on a new connection while the database connection is lost, for up
    to twice the step lease (the heartbeat keeps the lease meanwhile, once the database is
    back). Inside a caller's transaction nothing can be retried: the error propagates."""
    deadline = time.monotonic() + 2 * settings.TRIBUTARY_STEP_LEASE_SECONDS
    pause = FIRST_PAUSE
    while True:
        try:
            return call()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("Database connection lost while %s (%s); reconnecting", doing, exc)
            connection.close()
            time.sleep(pause)
            pause = min(2 * pause, LONGEST_PAUSE)
