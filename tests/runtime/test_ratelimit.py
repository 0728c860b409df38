"""The per-hook rate limit slides: no double burst across a minute boundary."""

from __future__ import annotations

import uuid

from runtime.ratelimit import allow


def test_it_allows_the_limit_then_refuses() -> None:
    key = str(uuid.uuid4())
    results = [allow(key, 3, now=1000.0)[0] for _ in range(5)]
    assert results == [True, True, True, False, False]


def test_a_new_minute_does_not_reset_the_count_at_once() -> None:
    key = str(uuid.uuid4())
    for _ in range(4):
        allow(key, 3, now=1019.0)  # 59 s into a minute
    allowed, retry = allow(key, 3, now=1021.0)  # 1 s into the next
    assert not allowed and retry >= 1
    assert allow(key, 3, now=1020.0 + 59.5)[0]  # nearly a minute later the past has faded
