"""A per-key rate limit over a sliding minute, shared by every process through Redis (or
per process in the embedded default).

A fixed one-minute window lets twice the limit through across a boundary (a burst at 0:59
and another at 1:00); the sliding estimate weighs the previous minute's count by how much of
it still overlaps the last 60 seconds.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import redis
from django.conf import settings

WINDOW = 60


def allow(key: str, per_minute: int, *, now: float | None = None) -> tuple[bool, int]:
    """(allowed, seconds to wait when refused). Every attempt counts, refused ones too, so a
    client hammering a limited hook stays limited."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    current, previous = _counter().hit(key, window)
    overlap = 1 - (now % WINDOW) / WINDOW
    if current + previous * overlap <= per_minute:
        return True, 0
    return False, max(1, int(WINDOW - now % WINDOW))


class _Redis:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)

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
    global _instance  # one client per process, made on first use
    if _instance is None:
        _instance = _Redis(settings.REDIS_URL) if settings.REDIS_URL else _Local()
    return _instance
