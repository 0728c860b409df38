"""Flow list statistics: last run and runs per day, for any number of flows at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runtime.engine.status import RunStatus
from runtime.models import Run
from runtime.services import flow_run_stats
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish


@pytest.mark.django_db
def test_it_reports_the_last_run_and_a_week_of_daily_counts(team: Team) -> None:
    busy = publish(team, chain(node("a", "data.transform", value=1)), "Busy")
    idle = publish(team, chain(node("a", "data.transform", value=1)), "Idle")
    assert busy.live_version
    now = timezone.now()
    for days_ago, status in [
        (6, RunStatus.SUCCEEDED),
        (1, RunStatus.SUCCEEDED),
        (0, RunStatus.SUCCEEDED),
        (0, RunStatus.FAILED),
        (9, "failed"),
    ]:
        Run.objects.create(
            flow=busy,
            version=busy.live_version,
            trigger_kind="manual",
            trigger_node="start",
            status=status,
            created_at=now - timedelta(days=days_ago),
        )
    stats = flow_run_stats(flow_ids=[busy.pk, idle.pk])
    assert stats[busy.pk]["daily"] == [1, 0, 0, 0, 0, 1, 2]
    assert stats[busy.pk]["last_status"] == RunStatus.FAILED
    assert stats[idle.pk] == {"last_status": None, "last_at": None, "daily": [0] * 7}
