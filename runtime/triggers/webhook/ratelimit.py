"""A per-key rate limit over a sliding minute, shared by every process through Redis (or
per process in the embedded default).

A fixed one-minute window lets twice the limit through across a boundary (a burst at 0:59
and another at 1:00); the sliding estimate weighs the previous minute's count by how much of
it still overlaps the last 60 seconds.

The limiter fails open: when its store (Redis) cannot be reached, every request is allowed
and a warning is logged (at most once a minute per process). A webhook losing its rate
limit for a while is better than refusing every delivery from Stripe or a shop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
WINDOW = 60
# A store that does not answer within this must not hold up the webhook (Redis's own
# default is to wait forever).
TIMEOUT_SECONDS = 0.5


def allow(key: str, per_minute: int, *, now: float | None = None) -> tuple[bool, int]:
    """(allowed, seconds to wait when refused). Every attempt counts, refused ones too, so a
    client hammering a limited hook stays limited. Never raises: without its store the
    limiter allows (see the module's docstring)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    try:
        current, previous = _counter().hit(key, window)
    except redis.RedisError as exc:  # connection refused, timeout, Redis loading or read-only
        _warn_unavailable(exc)
        return True, 0
    overlap = 1 - (now % WINDOW) / WINDOW
    if current + previous * overlap <= per_minute:
        return True, 0
    return False, max(1, int(WINDOW - now % WINDOW))


_last_warning = 0.0


def _warn_unavailable(exc: Exception) -> None:
    global _last_warning  # per process: one line a minute, not one per request
    if _last_warning and time.monotonic() - _last_warning < WINDOW:
        return
    _last_warning = time.monotonic()
    logger.warning("Rate limits are off until their store answers again: %s", exc)


class _Redis:
    def __init__(self, url: str):
        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )

    def hit(self, key: str, window: int) -> tuple[int, int]:
        current = f"tributary:rate:{key}:{window}"
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, 2 * WINDOW)
        pipe.get(f"tributary:rate:{key}:{window - 1}")
        hits, _, previous = pipe.execute()  # one round trip
        return int(hits), int(previous or 0)


class _Local:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = defaultdict(int)

    def hit(self, key: str, window: int) -> tuple[int, int]:
        with self.lock:
            if len(self.counts) > 10_000:  # forget old windows
                for stale in [k for k in self.counts if k[1] < window - 1]:
                    del self.counts[stale]
            self.counts[(key, window)] += 1
            return self.counts[(key, window)], self.counts.get((key, window - 1), 0)


_instance: _Redis | _Local | None = None


def _counter() -> _Redis | _Local:
    """One client per process, made on first use (again if settings.REDIS_URL changes)."""
    global _instance
    url = settings.REDIS_URL
    if _instance is None or (url or None) != getattr(_instance, "url", None):
        _instance = _Redis(url) if url else _Local()
    return _instance
