"""The for-each kind on its own: it asks for the first window of items, turns its item
runs' outcomes into the list of results in item order, and names the node and the value's
type when items are not a list (the engine side is tests/runtime/engine/test_foreach_runs.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

from designer.graph import Node
from runtime.kinds.contract import ChildOutcome, StepContext, StepError, WaitForChildren
from runtime.kinds.taint import ReadSteps
from runtime.steps.flow_foreach import KIND


def context(items: str, children: Sequence[ChildOutcome] = (), **config: Any) -> StepContext:
    return StepContext(
        node=Node(id="loop", type="flow.foreach", name="loop", config={"items": items, **config}),
        event={
            "trigger": {"lines": [1, 2, 3], "one": {"a": 1}, "text": "x"},
            "steps": ReadSteps({}),
        },
        info={"flow_id": 7},
        secrets={},
        deadline=time.monotonic() + 5,
        children=list(children),
    )


def outcome(
    index: int, status: str = "succeeded", output: Any = None, error: str = ""
) -> ChildOutcome:
    return ChildOutcome(
        run_id=100 + index, flow_id=7, status=status, output=output, error=error, item_index=index
    )


@pytest.mark.parametrize(
    ("template", "named"),
    [("{{ event.trigger.one }}", "dict"), ("{{ event.trigger.text }}", "str"), ("{{ 3 }}", "int")],
)
def test_items_that_are_not_a_list_are_refused_naming_node_and_type(
    template: str, named: str
) -> None:
    with pytest.raises(StepError) as refused:
        KIND.run(context(template))
    assert str(refused.value) == f"For each 'loop': items must be a list, got {named}"
    assert not refused.value.retryable


def test_it_asks_for_the_first_window_of_items_in_order() -> None:
    ctx = context("{{ event.trigger.lines }}", concurrency=2)
    with pytest.raises(WaitForChildren) as asked:
        KIND.run(ctx)
    assert asked.value.total == 3
    assert [(c.item_index, c.input, c.scope, c.flow_id) for c in asked.value.children] == [
        (0, 1, "loop", 7),
        (1, 2, "loop", 7),
    ]
    assert ctx.input == {"items": [1, 2, 3]}


def test_an_empty_list_is_an_empty_result() -> None:
    assert KIND.run(context("{{ [] }}")).output == []


def test_results_follow_item_order_and_continue_keeps_the_error_in_its_slot() -> None:
    done = [outcome(0, output="a"), outcome(1, "failed", error="boom"), outcome(2, output="c")]
    ctx = context("{{ event.trigger.lines }}", done, on_item_failure="continue")
    assert KIND.run(ctx).output == ["a", {"error": "boom", "index": 1}, "c"]


def test_with_fail_the_first_failed_item_is_the_loop_s_error() -> None:
    done = [outcome(0, output="a"), outcome(1, "failed", error="boom"), outcome(2, "running")]
    with pytest.raises(StepError) as failed:
        KIND.run(context("{{ event.trigger.lines }}", done))
    assert str(failed.value) == "For each 'loop': item 1 failed: boom"
    assert failed.value.detail == "Item run: /runs/101/"
