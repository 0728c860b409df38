"""/metrics per queue, what an autoscaler reads: steps sent to a queue no worker serves wait
there and age, the other queues stay at 0, and a pool started for that queue drains them."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings as SettingsWrapper

from runtime.engine.status import RunStatus, StepStatus
from runtime.models import StepRun
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, publish, start_live
from tests.stack import MakeStack, flush_broker, wait_for_run

STEPS = "tributary_queue_steps_queued"
OLDEST = "tributary_queue_oldest_age_seconds"
DEPTH = "tributary_queue_depth"
RUNNING = "tributary_queue_steps_running"
CRUNCH = "def handler(event, context):\n    return {'n': event['trigger']['n'] * 2}\n"


def per_queue() -> dict[str, dict[str, float]]:
    """The per-queue families of one scrape: {metric: {queue: value}}."""
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name in (STEPS, OLDEST, DEPTH, RUNNING):
                found.setdefault(sample.name, {})[sample.labels["queue"]] = sample.value
    return found


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_code_steps_wait_and_age_without_a_compute_worker_then_drain_when_one_starts(
    team: Team, make_stack: MakeStack
) -> None:
    stack = make_stack()
    stack.start_worker("light", concurrency=1, options=["-Q", "light"])
    shaped = start_live(publish(team, chain(node("shape", "data.transform", value=1)), "Shape"))
    assert wait_for_run(shaped).status == RunStatus.SUCCEEDED  # the light pool serves
    crunch = publish(team, chain(node("crunch", "code.python", source=CRUNCH)), "Crunch")
    runs = [start_live(crunch, {"n": n}) for n in range(3)]

    before = per_queue()
    assert before[STEPS] == {"light": 0, "io": 0, "compute": 3}
    assert before[DEPTH] == {"light": 0, "io": 0, "compute": 3}
    assert before[OLDEST]["light"] == before[OLDEST]["io"] == 0
    assert before[OLDEST]["compute"] > 0
    time.sleep(1)
    after = per_queue()
    # Nothing takes them: still waiting, and the wait shows (no scheduler runs here, so no
    # re-send moves queued_at; see the README on TRIBUTARY_REQUEUE_AFTER_SECONDS).
    assert after[STEPS]["compute"] == 3 and after[DEPTH]["compute"] == 3
    assert after[OLDEST]["compute"] >= before[OLDEST]["compute"] + 1

    stack.start_worker("compute", concurrency=2, options=["-Q", "compute"])
    for run in runs:
        assert wait_for_run(run, timeout=40).status == RunStatus.SUCCEEDED, run.error
    drained = per_queue()
    assert drained[STEPS] == drained[DEPTH] == {"light": 0, "io": 0, "compute": 0}
    assert drained[OLDEST] == {"light": 0, "io": 0, "compute": 0}


@pytest.mark.django_db
def test_every_declared_queue_is_shown_and_a_retired_one_while_steps_wait_in_it(
    team: Team, settings: SettingsWrapper
) -> None:
    settings.TRIBUTARY_QUEUE_NAMES = ["light", "io", "compute", "reports"]
    settings.TRIBUTARY_QUEUE_PREFIX = "blue-"
    flush_broker()
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.rpush("blue-reports", "m1", "m2")
    broker.rpush("reports", "another installation's")  # unprefixed: not ours
    run = start_live(publish(team, chain(node("shape", "data.transform", value=1))))
    now = timezone.now()
    waiting = [("reports", 90), ("reports", 10), ("retired", 30)]
    for index, (queue, seconds) in enumerate(waiting):
        StepRun.objects.create(
            run=run,
            node_id=f"waits_{index}",
            kind="code.python",
            queue=queue,
            status=StepStatus.QUEUED,
            queued_at=now - timedelta(seconds=seconds),
        )
    StepRun.objects.filter(run=run, node_id="shape").update(
        status=StepStatus.RUNNING, queued_at=now - timedelta(hours=1)
    )  # taken by a worker: no longer waiting, however long ago it was queued

    found = per_queue()
    assert found[STEPS] == {"light": 0, "io": 0, "compute": 0, "reports": 2, "retired": 1}
    assert found[OLDEST]["reports"] == pytest.approx(90, abs=5)
    assert found[OLDEST]["retired"] == pytest.approx(30, abs=5)
    assert found[OLDEST]["compute"] == 0
    assert found[DEPTH] == {"light": 0, "io": 0, "compute": 0, "reports": 2, "retired": 0}
    # The running transform keeps its light pool from scaling to zero.
    assert found[RUNNING] == {"light": 1, "io": 0, "compute": 0, "reports": 0, "retired": 0}
    flush_broker()


@pytest.mark.django_db
def test_an_unreachable_broker_reads_minus_one_and_none_is_asked_when_embedded(
    settings: SettingsWrapper,
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    found = per_queue()
    assert found[DEPTH] == {"light": -1, "io": -1, "compute": -1}
    assert found[STEPS] == {"light": 0, "io": 0, "compute": 0}
    settings.REDIS_URL = ""
    found = per_queue()
    assert DEPTH not in found
    assert found[STEPS] == {"light": 0, "io": 0, "compute": 0}
