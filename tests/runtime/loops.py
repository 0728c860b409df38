"""A run of a flow with a for-each, and its item runs made as rows (no worker runs them):
what the lists, the API and the run page show of a loop, whatever runs it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from designer.models import Flow
from runtime.engine.status import RunStatus
from runtime.models import Run, StepRun
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish


def loop_graph() -> dict[str, Any]:
    """start → loop (For each; body: double) → after."""
    body = node("double", "data.transform", "Double", value="{{ item }}")
    return graph(
        node("start", "trigger.manual"),
        node("loop", "flow.foreach", "Each order", items="{{ event.trigger.items }}"),
        body | {"parent": "loop", "position": {"x": 20, "y": 40}},
        node("after", "data.transform", value="done"),
        edges=[edge("start", "loop"), edge("loop", "after")],
    )


def loop_run(
    team: Team, *, items: int, failed: Collection[int] = (), open_: Collection[int] = ()
) -> Run:
    """A running run whose step 'loop' waits for ``items`` item runs: those in ``failed``
    failed, those in ``open_`` wait to start (so no recovery sweep takes the loop for
    stranded), the others succeeded with {"n": i}, each with its one body step. Made as
    rows: no worker is told of it, and in one transaction: a recovery sweep must never see
    the loop waiting without its items."""
    flow = publish(team, loop_graph())
    with transaction.atomic():
        return _loop_rows(team, flow, items=items, failed=failed, open_=open_)


def _loop_rows(
    team: Team, flow: Flow, *, items: int, failed: Collection[int], open_: Collection[int]
) -> Run:
    assert flow.live_version is not None
    now = timezone.now()
    run = Run.objects.create(
        flow=flow,
        version=flow.live_version,
        trigger_kind="manual",
        trigger_node="start",
        input={"items": list(range(items))},
        status=RunStatus.RUNNING,
        started_by=team.editor,
        started_at=now,
    )
    StepRun.objects.create(run=run, node_id="start", kind="trigger.manual", status="succeeded")
    # The counters the engine keeps on a loop's step as its items start and end.
    step = StepRun.objects.create(
        run=run,
        node_id="loop",
        kind="flow.foreach",
        status="waiting",
        started_at=now,
        items_total=items,
        items_started=items,
        items_done=items - len(open_),
        items_failed=len(failed),
    )
    StepRun.objects.create(run=run, node_id="after", kind="data.transform", status="pending")
    add_items(run, step, range(items), failed=failed, open_=open_)
    return run


def add_items(
    run: Run,
    step: StepRun,
    indexes: Iterable[int],
    *,
    failed: Collection[int] = (),
    open_: Collection[int] = (),
    round_: int = 0,
) -> None:
    now = timezone.now()

    def status(i: int) -> str:
        if i in open_:
            return RunStatus.PENDING
        return RunStatus.FAILED if i in failed else RunStatus.SUCCEEDED

    rows = [
        Run(
            flow_id=run.flow_id,
            version_id=run.version_id,
            trigger_kind="foreach",
            trigger_node="loop",
            input={"item": i, "index": i},
            scope="loop",
            parent_step=step,
            item_index=i,
            parent_round=round_,
            depth=1,
            status=status(i),
            output={"n": i} if status(i) == RunStatus.SUCCEEDED else None,
            error=f"item {i} broke\nat line 2" if i in failed else "",
            started_at=None if i in open_ else now - timedelta(seconds=2),
            finished_at=None if i in open_ else now,
        )
        for i in indexes
    ]
    created = Run.objects.bulk_create(rows)
    StepRun.objects.bulk_create(
        StepRun(
            run=child,
            node_id="double",
            kind="data.transform",
            status=child.status,
            input={"value": child.item_index},
            output=child.output,
            error=child.error,
            logs=f"doubling {child.item_index}",
        )
        for child in created
    )
