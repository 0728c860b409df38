"""The planner with for-each bodies: a run plans its top level, where a for-each is one
step and its body is absent; a child run plans a body, whose entry steps start at once.
Pure functions over stored graphs: no database, no worker."""

from __future__ import annotations

from typing import Any

import pytest

from designer.graph import Graph, load_stored_graph
from runtime.engine.planner import (
    State,
    initial_states,
    is_finished,
    plan,
    run_output,
    topological_order,
)
from runtime.engine.status import StepStatus
from tests.factories import edge, graph, node

OK, PENDING, RUNNING = StepStatus.SUCCEEDED, StepStatus.PENDING, StepStatus.RUNNING


def looped() -> Graph:
    """start → loop → after; loop's body: fetch → shape, and a lone check; shape holds a
    nested loop whose body is deep."""

    def body(node_id: str, parent: str, kind: str = "data.transform") -> dict[str, Any]:
        return node(node_id, kind, value=1, items="x") | {"parent": parent}

    return load_stored_graph(
        graph(
            node("start", "trigger.manual"),
            node("loop", "flow.foreach", items="{{ event.trigger.items }}"),
            body("fetch", "loop"),
            body("shape", "loop"),
            body("check", "loop"),
            body("inner", "loop", "flow.foreach"),
            body("deep", "inner"),
            node("after", "data.transform", value=1),
            edges=[
                edge("start", "loop"),
                edge("loop", "after"),
                edge("fetch", "shape"),
                edge("shape", "inner"),
            ],
        )
    )


def test_a_run_has_states_only_for_top_level_steps() -> None:
    states = initial_states(looped(), "start")
    assert states == {"start": State(OK), "loop": State(PENDING), "after": State(PENDING)}


def test_the_for_each_is_ready_after_the_trigger_and_its_body_is_not_planned() -> None:
    graph = looped()
    assert topological_order(graph) == ["start", "loop", "after"]
    ready = plan(graph, initial_states(graph, "start")).ready
    assert ready == ["loop"]


def test_downstream_of_a_for_each_waits_for_it() -> None:
    graph = looped()
    running = {"start": State(OK), "loop": State(RUNNING), "after": State(PENDING)}
    assert plan(graph, running).ready == []
    done = running | {"loop": State(OK)}
    assert plan(graph, done).ready == ["after"]
    assert run_output(graph, {"start": {}, "loop": [1, 2], "after": 3}) == 3


def test_a_child_run_plans_the_body_and_starts_its_entry_steps_at_once() -> None:
    body = looped().body("loop")
    assert body.roots() == ["fetch", "check"]
    states = {node_id: State(PENDING) for node_id in body.nodes}
    assert sorted(plan(body, states).ready) == ["check", "fetch"]
    after_fetch = states | {"fetch": State(OK), "check": State(OK)}
    assert plan(body, after_fetch).ready == ["shape"]


def test_a_nested_for_each_is_one_step_of_its_body_and_has_its_own() -> None:
    graph = looped()
    assert "deep" not in graph.body("loop").nodes
    assert list(graph.body("inner").nodes) == ["deep"]


def test_an_items_result_is_what_its_body_sinks_produced() -> None:
    body = looped().body("loop")
    finished = {node_id: State(OK) for node_id in body.nodes}
    assert is_finished(finished)
    assert run_output(body, {"fetch": 1, "shape": 2, "check": 3, "inner": [4]}) == {
        "check": 3,
        "inner": [4],
    }


def test_the_top_level_of_a_looped_graph_leaves_its_bodies_out() -> None:
    assert list(looped().top_level().nodes) == ["start", "loop", "after"]
    with pytest.raises(KeyError):
        looped().body("after")


def test_a_body_step_that_fails_into_its_error_path_goes_on_inside_the_item() -> None:
    loop = load_stored_graph(
        graph(
            node("start", "trigger.manual"),
            node("loop", "flow.foreach", items="{{ event.trigger.items }}"),
            node("fetch", "data.transform", value=1) | {"parent": "loop"},
            node("shape", "data.transform", value=1) | {"parent": "loop"},
            node("fallback", "data.transform", value=1) | {"parent": "loop"},
            edges=[
                edge("start", "loop"),
                edge("fetch", "shape"),
                edge("fetch", "fallback", "error"),
            ],
        )
    )
    body = loop.body("loop")
    assert body.roots() == ["fetch"]
    failed = {
        "fetch": State(StepStatus.FAILED, "error"),
        "shape": State(PENDING),
        "fallback": State(PENDING),
    }
    result = plan(body, failed)
    assert (result.ready, result.skipped) == (["fallback"], ["shape"])
    assert run_output(body, {"fallback": "used the fallback"}) == "used the fallback"
