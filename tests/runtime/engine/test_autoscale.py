"""Autoscaling on one machine (`celery worker --autoscale=max,min`): a burst grows the
pool, idleness shrinks it, and the processes coming and going neither lose a step nor run
one twice. The pool is watched the way an operator would, through Celery's remote control
(``inspect().stats()``), which answers although the stack's workers run without gossip,
mingle and heartbeats."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from config.celery import app
from designer.models import Flow
from runtime.engine.status import RUN_FINISHED, RunStatus, StepStatus
from runtime.models import Run, StepRun
from runtime.runs import run_start
from tests.conftest import Team
from tests.factories import node
from tests.fakes import FakeApi
from tests.runtime.helpers import chain, publish
from tests.stack import MakeStack, wait_for_run, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MAX, MIN = 4, 1
BURST = 30  # runs of one 0.3 s HTTP call, on top of two calls held open


def pool_stats(worker: str) -> dict[str, Any]:
    """The worker's ``stats`` reply, or {} if it did not answer in time."""
    inspect = app.control.inspect(destination=[worker], timeout=2, limit=1)
    replies: dict[str, Any] | None = inspect.stats()
    return (replies or {}).get(worker, {})


class Pool:
    """The pool sizes a worker reports, each change kept in ``trail`` (1 → 2 → 4 → 2 → 1)."""

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.trail: list[int] = []

    def size(self) -> int | None:
        """How many pool processes the worker has (started and not yet reaped)."""
        stats = pool_stats(self.worker)
        if not stats:
            return None
        size = len(stats["pool"]["processes"])
        if not self.trail or self.trail[-1] != size:
            self.trail.append(size)
        return size


def begin(team: Team, flow: Flow, payload: dict[str, Any] | None = None) -> Run:
    assert flow.live_version is not None
    return run_start(
        flow=flow, version=flow.live_version, payload=payload or {}, started_by=team.editor
    )


def finished(runs: list[Run]) -> bool:
    pks = [run.pk for run in runs]
    return Run.objects.filter(pk__in=pks, status__in=RUN_FINISHED).count() == len(runs)


def test_a_burst_grows_the_pool_idleness_shrinks_it_and_every_step_runs_once(
    team: Team, make_stack: MakeStack, fake_api: FakeApi, record_property: Callable[..., None]
) -> None:
    # Celery reads AUTOSCALE_KEEPALIVE when the worker starts: idle processes are stopped
    # 2 s after the last task arrived instead of 30.
    stack = make_stack(AUTOSCALE_KEEPALIVE="2")
    stack.start_worker("autoscaled", concurrency=MIN, options=["--autoscale", f"{MAX},{MIN}"])
    stack.start_scheduler()
    worker = f"autoscaled@{socket.gethostname()}"
    pool = Pool(worker)
    first = wait_until(lambda: pool_stats(worker), "the worker answering inspect")
    assert pool.size() == MIN
    # The worker reserves max x prefetch multiplier messages, not min x 1: enough to see a
    # backlog, which is what the autoscaler scales on.
    assert first["prefetch_count"] == MAX
    assert (first["autoscaler"]["max"], first["autoscaler"]["min"]) == (MAX, MIN)

    # Two calls the fake API holds open until the test lets them go: two processes stay
    # busy while the pool shrinks around them.
    release = threading.Event()

    def hold_open(request: dict[str, Any]) -> None:
        release.wait(60)

    fake_api.hooks["/hold"] = hold_open
    hold = publish(team, chain(node("hold", "http.request", url=f"{fake_api.url}/hold")), "Hold")
    held = [begin(team, hold) for _ in range(2)]
    wait_until(lambda: fake_api.hits["/hold"] == 2, "both held calls under way")
    pool.size()

    url = f"{fake_api.url}/slow?seconds=0.3&n={{{{ event.trigger.n }}}}"
    burst = publish(team, chain(node("call", "http.request", method="POST", url=url)), "Burst")
    runs = [begin(team, burst, {"n": n}) for n in range(BURST)]
    wait_until(lambda: pool.size() and finished(runs), "the burst finishing", timeout=90)
    assert max(pool.trail) > 2, f"the pool never grew beyond the two held calls: {pool.trail}"

    # Idle, the extra processes are stopped; the two running the held calls are not.
    wait_until(lambda: pool.size() == 2, "the pool shrinking to its busy processes")
    assert {run.steps.get(node_id="hold").status for run in held} == {StepStatus.RUNNING}
    release.set()
    for run in held:
        assert wait_for_run(run).status == RunStatus.SUCCEEDED
    wait_until(lambda: pool.size() == MIN, "the pool shrinking back to its minimum")

    assert {wait_for_run(run).status for run in runs} == {RunStatus.SUCCEEDED}
    # Every step claimed once, none taken over from a lost process, every effect once.
    steps = StepRun.objects.filter(run__in=[*held, *runs], node_id__in=["hold", "call"])
    assert steps.count() == BURST + 2
    assert set(steps.values_list("attempt", "lost")) == {(1, 0)}
    calls = sorted(int(r["query"]["n"]) for r in fake_api.requests if r["path"] == "/slow")
    assert calls == list(range(BURST))
    assert fake_api.hits["/hold"] == 2
    log = stack.log("autoscaled")
    assert "Scaling down" in log and "WorkerLostError" not in log
    # For the record (tests/conftest.py prints the figures it names), not a pass mark.
    record_property("autoscale", f"pool sizes seen {' -> '.join(map(str, pool.trail))}")
