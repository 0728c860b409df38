"""Cron triggers: activation follows the live version, catch-up policies, the preview API,
and exactly-once firing with two schedulers running at once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from designer.services import flow_archive, flow_publish, flow_version_save
from runtime.models import CronFire, CronSchedule, Run
from runtime.triggers.cron.fire import fire_due_schedules
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.processes import stop
from tests.runtime.helpers import publish
from tests.stack import MakeStack, Stack, wait_for_run


def cron_graph(expression: str = "0 2 * * *", **config: str) -> dict:
    return graph(
        node("nightly", "trigger.cron", expression=expression, **config),
        node("shape", "data.transform", value="{{ event.trigger.scheduled_for }}"),
        edges=[edge("nightly", "shape")],
    )


@pytest.mark.django_db
def test_publishing_activates_the_schedule_and_archiving_removes_it(team: Team) -> None:
    flow = publish(team, cron_graph("0 2 * * *", timezone="Europe/Paris"))
    schedule = CronSchedule.objects.get(flow=flow)
    local = schedule.next_fire_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (2, 0)
    v2 = flow_version_save(flow=flow, user=team.editor, graph=cron_graph("30 3 * * *"))
    flow_publish(flow=flow, user=team.editor, number=v2.number)
    assert CronSchedule.objects.get(flow=flow).expression == "30 3 * * *"
    flow_archive(flow=flow, user=team.editor)
    assert not CronSchedule.objects.filter(flow=flow).exists()


@pytest.mark.django_db
def test_a_missed_fire_is_skipped_by_default(team: Team) -> None:
    flow = publish(team, cron_graph("* * * * *"))
    CronSchedule.objects.filter(flow=flow).update(
        next_fire_at=timezone.now() - timedelta(minutes=10)
    )  # the scheduler was down
    assert fire_due_schedules() == 0
    assert not Run.objects.exists()
    assert CronSchedule.objects.get(flow=flow).next_fire_at > timezone.now()


@pytest.mark.django_db
def test_a_missed_fire_runs_once_when_the_policy_says_so(team: Team) -> None:
    # The two passes must fall in the same minute, or the next minute is rightly due (it
    # failed CI once at a minute's end).
    second = timezone.now().second + timezone.now().microsecond / 1e6
    if second > 50:
        time.sleep(60.2 - second)
    flow = publish(team, cron_graph("* * * * *", catch_up="once"))
    CronSchedule.objects.filter(flow=flow).update(
        next_fire_at=timezone.now() - timedelta(minutes=10)
    )
    assert fire_due_schedules() == 1
    assert fire_due_schedules() == 0  # once, not once per missed minute
    run = Run.objects.get()
    assert run.trigger_kind == "cron"
    scheduled = datetime.fromisoformat(run.input["scheduled_for"])
    assert timezone.now() - scheduled < timedelta(minutes=1)


@pytest.mark.django_db
def test_a_due_schedule_fires_with_its_times_in_the_payload(team: Team) -> None:
    flow = publish(team, cron_graph("* * * * *"))
    due = timezone.now().replace(second=0, microsecond=0)
    CronSchedule.objects.filter(flow=flow).update(next_fire_at=due)
    assert fire_due_schedules() == 1
    run = Run.objects.get()
    assert run.input["scheduled_for"] == due.isoformat()
    assert "fired_at" in run.input and run.input["expression"] == "* * * * *"
    assert CronFire.objects.get().scheduled_for == due


@pytest.mark.django_db
def test_the_preview_lists_the_next_five_times_or_explains(team: Team) -> None:
    client = team.client(team.viewer)
    ok = client.get("/api/cron/preview/", {"expression": "0 2 * * *", "timezone": "UTC"})
    assert len(ok.json()["next"]) == 5 and ok.json()["next"][0].endswith("02:00:00+00:00")
    bad = client.get("/api/cron/preview/", {"expression": "every day"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "expression"


def running_within(stack: Stack, name: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while "Scheduler running." not in stack.log(name):
        assert time.monotonic() < deadline, stack.log(name)
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.timeout(480)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("minutes", [1, pytest.param(3, marks=pytest.mark.long)])
def test_two_schedulers_for_some_minutes_fire_exactly_one_run_a_minute(
    team: Team, make_stack: MakeStack, minutes: int
) -> None:
    stack = make_stack()
    stack.start_worker()
    schedulers = [stack.start(name, "manage.py", "scheduler") for name in ("sched-a", "sched-b")]
    for name in ("sched-a", "sched-b"):
        running_within(stack, name, seconds=30)
    # A window opened s seconds past a minute holds the boundaries at 60 - s, 120 - s... in,
    # and the next one comes 60 - s after it closes, while the schedulers are being stopped.
    # Open it now when s is 5-40 (the last boundary 5 s or more before the opening, the
    # others 20 s or more from either edge), or else at 5 s past the next minute. CI watches
    # one minute; scripts/chaos (-m long) three.
    now = timezone.now()
    second = now.second + now.microsecond / 1e6
    if not 5 <= second <= 40:
        time.sleep((65 - second) % 60)
    opened = timezone.now()
    flow = publish(team, cron_graph("* * * * *"))
    closes = opened + timedelta(minutes=minutes)
    while timezone.now() < closes:
        time.sleep(1)
        assert all(s.poll() is None for s in schedulers), "a scheduler died"
    for process in schedulers:
        stop(process)  # both watched the whole window; nothing can fire after this
    first = opened.replace(second=0, microsecond=0) + timedelta(minutes=1)
    expected = [first + timedelta(minutes=n) for n in range(minutes)]
    fires = list(CronFire.objects.filter(flow=flow).order_by("scheduled_for"))
    assert [fire.scheduled_for for fire in fires] == expected  # and no fourth
    runs = list(Run.objects.filter(flow=flow).order_by("id"))
    assert sorted(run.input["scheduled_for"] for run in runs) == [t.isoformat() for t in expected]
    assert {fire.run_id for fire in fires} == {run.pk for run in runs}
    assert [wait_for_run(run).status for run in runs] == ["succeeded"] * minutes
