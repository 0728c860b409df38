"""A change that cannot start its run stays in the outbox, logged at ERROR, and is tried
again only after a pause; when it finally starts, each flow gets its run once."""

from __future__ import annotations

import logging
import time

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.models import DbChange, DbChangeSubscription, Run
from runtime.triggers.dbchange import outbox
from tests.conftest import Team
from tests.runtime.triggers.tables import execute, watch

pytestmark = pytest.mark.django_db


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_a_change_too_big_to_start_a_run_stays_in_the_outbox_and_is_logged(
    team: Team, shop_table: str, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    settings.TRIBUTARY_MAX_OUTPUT_BYTES = 2000
    watch(team, shop_table)
    execute("INSERT INTO shop_orders (email, note) VALUES ('big@example.com', %s)", ["x" * 5000])
    with caplog.at_level(logging.ERROR, logger="runtime.triggers.dbchange.outbox"):
        assert outbox.drain_outbox() == 0
        [big] = DbChange.objects.all()
        [message] = errors(caplog)
        assert f"Change {big.pk} (insert on public.shop_orders)" in message
        assert "stays in the outbox" in message and "the limit is 2,000" in message

        execute("INSERT INTO shop_orders (email) VALUES ('small@example.com')")
        assert outbox.drain_outbox() == 1  # not stuck behind the big one
        assert outbox.drain_outbox() == 0
    assert [c.pk for c in DbChange.objects.all()] == [big.pk]
    assert len(errors(caplog)) == 1  # the big one was not tried again at once
    assert [run.input["new"]["email"] for run in Run.objects.all()] == ["small@example.com"]


def test_a_kept_change_is_retried_later_and_starts_only_the_runs_that_failed(
    team: Team, shop_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "RETRY_FIRST", 1.5)
    works = watch(team, shop_table, "Works")
    broken = watch(team, shop_table, "Broken")
    # A subscription whose node is not a trigger of the live version: run_start refuses it.
    DbChangeSubscription.objects.filter(flow=broken).update(node_id="gone")
    execute("INSERT INTO shop_orders (email) VALUES ('ada@example.com')")
    assert outbox.drain_outbox() == 1
    assert DbChange.objects.count() == 1
    DbChangeSubscription.objects.filter(flow=broken).update(node_id="rows")  # fixed
    assert outbox.drain_outbox() == 0  # its pause has not passed
    time.sleep(1.6)
    assert outbox.drain_outbox() == 1
    assert not DbChange.objects.exists()
    assert sorted(run.flow.name for run in Run.objects.all()) == ["Broken", "Works"]
    assert Run.objects.filter(flow=works).count() == 1
