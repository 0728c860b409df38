"""Runs of flows with a for-each, through a real Celery worker on Redis and PostgreSQL: each
item runs the loop's body as a child run; the loop's output is the list of the body's
results in item order; item failures follow the loop's policy; a cancel stops the items."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from runtime.engine.status import RunStatus, StepStatus
from runtime.models import Run, StepRun
from runtime.runs import RunRefused, run_cancel, run_retry
from runtime.services import secret_set
from tests.conftest import SmtpSink, Team
from tests.factories import edge, node
from tests.fakes import FakeApi
from tests.runtime.helpers import manual, start, statuses
from tests.stack import Stack, wait_for_run, wait_for_step, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def inside(loop: str, step: dict[str, Any]) -> dict[str, Any]:
    return step | {"parent": loop}


def loop_flow(*body: dict[str, Any], **config: Any) -> dict[str, Any]:
    """start → loop (over event.trigger.lines, with ``body``) → after (the loop's output)."""
    return manual(
        node("loop", "flow.foreach", items="{{ event.trigger.lines }}", **config),
        *(inside("loop", step) for step in body),
        node("after", "data.transform", value="{{ event.steps.loop }}"),
        edges=[edge("start", "loop"), edge("loop", "after")],
    )


def test_an_order_s_lines_are_priced_one_by_one_summed_and_mailed(
    team: Team, stack: Stack, fake_api: FakeApi, smtp_sink: SmtpSink
) -> None:
    smtp_sink.messages.clear()
    priced = f"{fake_api.url}/echo?sku={{{{ item.sku }}}}&qty={{{{ item.qty }}}}"
    flow = manual(
        node("note", "data.transform", value="order {{ event.trigger.order }}"),
        node("loop", "flow.foreach", items="{{ event.trigger.lines }}", concurrency=2),
        inside(
            "loop", node("price", "http.request", method="POST", url=priced, body="{{ index }}")
        ),
        inside(
            "loop",
            node(
                "line",
                "data.transform",
                value={
                    "total": "{{ (event.steps.price.body.query.qty | int) * item.price }}",
                    "note": "{{ event.steps.note }}/{{ index }}",
                },
            ),
        ),
        node(
            "sum", "data.transform", value="{{ event.steps.loop | map(attribute='total') | sum }}"
        ),
        node(
            "mail",
            "email.send",
            to="orders@example.com",
            subject="Order {{ event.trigger.order }}",
            text="Total: {{ event.steps.sum }}",
        ),
        edges=[
            edge("start", "note"),
            edge("note", "loop"),
            edge("price", "line"),
            edge("loop", "sum"),
            edge("sum", "mail"),
        ],
    )
    lines = [
        {"sku": "A", "qty": 2, "price": 5},
        {"sku": "B", "qty": 1, "price": 7},
        {"sku": "C", "qty": 3, "price": 4},
    ]
    run = wait_for_run(start(team, flow, {"order": 42, "lines": lines}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    loop = run.steps.get(node_id="loop")
    assert loop.output == [
        {"total": 10, "note": "order 42/0"},
        {"total": 7, "note": "order 42/1"},
        {"total": 12, "note": "order 42/2"},
    ]
    assert run.steps.get(node_id="sum").output == 29
    [mail] = smtp_sink.messages
    assert "Subject: Order 42" in mail["data"]
    assert "Total: 29" in mail["data"]
    assert sorted(r["query"]["sku"] for r in fake_api.requests) == ["A", "B", "C"]
    items = Run.objects.filter(parent_step=loop).order_by("item_index")
    assert [(r.scope, r.depth, r.input) for r in items] == [
        ("loop", 1, {"item": line, "index": i}) for i, line in enumerate(lines)
    ]
    assert set(statuses(items[0])) == {"price", "line"}  # the body's steps only
    assert (loop.items_total, loop.items_done, loop.items_failed) == (3, 3, 0)


def test_an_empty_list_gives_an_empty_result_at_once(team: Team, stack: Stack) -> None:
    flow = loop_flow(node("shape", "data.transform", value="{{ item }}"))
    run = wait_for_run(start(team, flow, {"lines": []}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == []
    assert not Run.objects.filter(parent_step__run=run).exists()


def test_items_that_are_not_a_list_fail_the_loop_naming_node_and_type(
    team: Team, stack: Stack
) -> None:
    flow = loop_flow(node("shape", "data.transform", value="{{ item }}"))
    run = wait_for_run(start(team, flow, {"lines": {"a": 1}}))
    assert run.status == RunStatus.FAILED
    assert run.steps.get(node_id="loop").error == (
        "For each 'loop': items must be a list, got dict"
    )
    assert statuses(run)["after"] == StepStatus.CANCELLED


def failing_body() -> dict[str, Any]:
    """A body step that fails for odd items (a division by zero in the template)."""
    return node("shape", "data.transform", value="{{ 10 // (item % 2 - 1) * -1 }}")


def test_with_fail_the_first_failed_item_fails_the_loop_and_names_it(
    team: Team, stack: Stack
) -> None:
    flow = loop_flow(failing_body(), on_item_failure="fail", concurrency=1)
    run = wait_for_run(start(team, flow, {"lines": [2, 4, 5, 6, 8]}))
    assert run.status == RunStatus.FAILED
    loop = run.steps.get(node_id="loop")
    assert loop.error.startswith("For each 'loop': item 2 failed: ")
    # One at a time: nothing after the failed item was started.
    assert sorted(Run.objects.filter(parent_step=loop).values_list("item_index", flat=True)) == [
        0,
        1,
        2,
    ]
    assert statuses(run)["after"] == StepStatus.CANCELLED


def test_with_continue_a_failed_item_s_slot_holds_its_error_and_the_run_succeeds(
    team: Team, stack: Stack
) -> None:
    flow = loop_flow(failing_body(), on_item_failure="continue", concurrency=3)
    run = wait_for_run(start(team, flow, {"lines": [2, 3, 4]}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert isinstance(run.output, list)
    first, second, third = run.output
    assert (first, third) == (10, 10)
    assert second["index"] == 1
    assert "failed" in second["error"]
    loop = run.steps.get(node_id="loop")
    assert (loop.items_total, loop.items_done, loop.items_failed) == (3, 3, 1)


def test_cancelling_the_run_stops_the_remaining_items(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    slow = f"{fake_api.url}/slow?seconds=0.5"
    flow = loop_flow(node("wait", "http.request", url=slow), concurrency=2)
    run = start(team, flow, {"lines": list(range(40))})
    wait_for_step(run, "loop", StepStatus.WAITING)
    done = Run.objects.filter(parent_step__run=run, status=RunStatus.SUCCEEDED)
    wait_until(lambda: done.count() >= 2, "two items finishing")
    run_cancel(run=run, user=team.editor)
    run = wait_for_run(run)
    assert run.status == RunStatus.CANCELLED
    deadline = time.monotonic() + 20
    items = Run.objects.filter(parent_step__run=run)
    while items.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).exists():
        assert time.monotonic() < deadline, "open items were not cancelled"
        time.sleep(0.1)
    started = items.count()
    assert started < 40
    time.sleep(1.5)  # long enough for a wrongly started item to show up
    assert items.count() == started
    assert items.filter(status=RunStatus.CANCELLED).exists()


def test_loops_nest_and_the_inner_body_sees_its_own_item(team: Team, stack: Stack) -> None:
    flow = manual(
        node("rows", "flow.foreach", items="{{ event.trigger.rows }}"),
        inside("rows", node("cells", "flow.foreach", items="{{ item.cells }}")),
        inside(
            "cells",
            node("cell", "data.transform", value="{{ event.trigger.tag }}{{ index }}:{{ item }}"),
        ),
        edges=[edge("start", "rows")],
    )
    rows = [{"cells": ["a", "b", "c"]}, {"cells": ["d", "e", "f"]}]
    run = wait_for_run(start(team, flow, {"tag": "#", "rows": rows}), timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == [["#0:a", "#1:b", "#2:c"], ["#0:d", "#1:e", "#2:f"]]
    inner = Run.objects.filter(scope="cells", parent_step__run__parent_step__run=run)
    assert sorted(inner.values_list("depth", flat=True)) == [2] * 6


def test_an_item_run_cannot_be_retried_on_its_own(team: Team, stack: Stack) -> None:
    flow = loop_flow(failing_body(), on_item_failure="fail")
    run = wait_for_run(start(team, flow, {"lines": [3]}))
    item = Run.objects.get(parent_step__run=run)
    assert item.status == RunStatus.FAILED
    with pytest.raises(RunRefused, match="one item of the for-each 'loop'"):
        run_retry(run=item, user=team.editor)


def test_a_retry_of_the_loop_starts_a_new_round_of_every_item(
    team: Team, stack: Stack, fake_api: FakeApi
) -> None:
    flaky = f"{fake_api.url}/flaky/item-{{{{ index }}}}?fail={{{{ 1 if index == 1 else 0 }}}}"
    flow = loop_flow(node("call", "http.request", url=flaky), concurrency=1)
    flow["nodes"][1] |= {"settings": {"retries": 1, "retry_backoff_seconds": 0.1}}
    run = wait_for_run(start(team, flow, {"lines": [0, 1, 2]}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [item["body"]["ok"] for item in run.output] == [True, True, True]
    loop = run.steps.get(node_id="loop")
    rounds = Run.objects.filter(parent_step=loop).values_list("parent_round", "item_index")
    assert sorted(rounds) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    assert (loop.failures, loop.items_total, loop.items_done) == (1, 3, 3)


def test_items_read_from_a_secret_make_the_body_s_steps_use_secrets(
    team: Team, stack: Stack
) -> None:
    secret_set(workspace=team.workspace, name="CODES", value="a,b", user=team.editor)
    flow = manual(
        node("loop", "flow.foreach", items="{{ secrets.CODES.split(',') }}"),
        inside("loop", node("shape", "data.transform", value="{{ item }}!")),
        edges=[edge("start", "loop")],
    )
    run = wait_for_run(start(team, flow, {}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.uses_secrets
    assert run.steps.get(node_id="loop").uses_secrets
    shaped = StepRun.objects.filter(run__parent_step__run=run, node_id="shape")
    assert [s.uses_secrets for s in shaped] == [True, True]


@pytest.mark.parametrize(
    ("count", "concurrency", "timeout"),
    [
        # About 42 s here on a busy shared machine (a minute with the stack's start).
        pytest.param(300, 20, 120, id="300", marks=pytest.mark.timeout(170)),
        pytest.param(1000, 20, 240, id="1000", marks=[pytest.mark.long, pytest.mark.timeout(290)]),
        # About 6 minutes here: run with -m long (scripts/chaos's marker).
        pytest.param(
            10_000, 50, 3000, id="10000", marks=[pytest.mark.long, pytest.mark.timeout(3200)]
        ),
    ],
)
def test_a_large_loop_completes_with_every_item_once_in_order(
    team: Team,
    stack: Stack,
    count: int,
    concurrency: int,
    timeout: float,
    record_property: Callable[[str, object], None],
) -> None:
    flow = loop_flow(
        node("double", "data.transform", value="{{ item * 2 }}"), concurrency=concurrency
    )
    began = time.monotonic()
    run = wait_for_run(start(team, flow, {"lines": list(range(count))}), timeout=timeout)
    seconds = time.monotonic() - began
    record_property("foreach", f"{count:,} items at {concurrency}: {seconds:.1f} s")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == [2 * i for i in range(count)]
    loop = run.steps.get(node_id="loop")
    assert (loop.items_total, loop.items_started, loop.items_done) == (count, count, count)
    assert Run.objects.filter(parent_step=loop).count() == count


def test_items_never_take_a_slot_of_the_flow_s_concurrency_limit(team: Team, stack: Stack) -> None:
    flow = loop_flow(node("shape", "data.transform", value="{{ item }}"), concurrency=3)
    flow["settings"] = {"concurrency": {"limit": 1}}
    run = wait_for_run(start(team, flow, {"lines": [1, 2, 3]}))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == [1, 2, 3]
    items = Run.objects.filter(parent_step__run=run)
    assert list(items.values_list("concurrency_limit", flat=True)) == [None] * 3
