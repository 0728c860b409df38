"""The per-hook rate limit slides (no double burst across a minute boundary), and it fails
open: without Redis every request is allowed, with a warning, never an exception. A hook
with no limit (the default) does not ask Redis at all."""

from __future__ import annotations

import logging
import uuid

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.triggers.webhook import endpoint, ratelimit
from runtime.triggers.webhook import kind as webhook
from runtime.triggers.webhook.ratelimit import allow
from tests.conftest import Team
from tests.processes import free_port
from tests.runtime.triggers.hooks import hook_flow


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


def test_without_its_store_it_allows_every_request_and_warns_once(
    settings: SettingsWrapper, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_last_warning", 0.0)  # earlier tests may have warned
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    key = str(uuid.uuid4())
    with caplog.at_level(logging.WARNING, logger="runtime.triggers.webhook.ratelimit"):
        results = [allow(key, 1, now=1000.0) for _ in range(5)]
    assert results == [(True, 0)] * 5  # over the limit of 1, yet allowed: fail open
    warnings = [r for r in caplog.records if r.name == "runtime.triggers.webhook.ratelimit"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "Rate limits are off" in warnings[0].getMessage()


def test_it_limits_again_once_its_store_is_back(settings: SettingsWrapper) -> None:
    real = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    key = str(uuid.uuid4())
    assert [allow(key, 1, now=1000.0)[0] for _ in range(3)] == [True] * 3
    settings.REDIS_URL = real
    assert [allow(key, 1, now=1000.0)[0] for _ in range(3)] == [True, False, False]


@pytest.mark.django_db
def test_a_hook_without_a_limit_never_asks_the_store(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_store(*args: object, **kwargs: object) -> tuple[bool, int]:
        raise AssertionError("an unlimited hook asked Redis")

    monkeypatch.setattr(ratelimit, "allow", no_store)
    flow = hook_flow(team)
    token = webhook.endpoint_for(flow, "order").token
    assert endpoint.resolve(token, "POST").setting("rate_limit_per_minute") is None
    limited = hook_flow(team, {"rate_limit_per_minute": 5})
    with pytest.raises(AssertionError, match="asked Redis"):
        endpoint.resolve(webhook.endpoint_for(limited, "order").token, "POST")
