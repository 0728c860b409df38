"""The planner alone, as tables: given a graph and the states of its steps, which steps are
ready, which are skipped, whether the run is over and what it produced. Pure functions:
no database, no worker."""

from __future__ import annotations

from typing import Any

import pytest

from designer.graph import Graph, load_stored_graph
from runtime.engine.planner import (
    Plan,
    State,
    initial_states,
    is_fatal,
    is_finished,
    plan,
    run_output,
    topological_order,
)
from runtime.engine.status import StepStatus

OK, FAILED, PENDING = StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.PENDING
SKIPPED, RUNNING, QUEUED = StepStatus.SKIPPED, StepStatus.RUNNING, StepStatus.QUEUED


def flow(edges: str, *, branch: str = "", carry_on: str = "", triggers: str = "t") -> Graph:
    """A graph from ``"t>a a>b b:true>c"`` (``:handle`` on a branch's edges); nodes named in
    ``branch`` are logic.branch, in ``carry_on`` continue on failure, in ``triggers``
    manual triggers; every other node is a transform."""
    pairs = [edge.split(">") for edge in edges.split()]
    names = sorted({name.split(":")[0] for pair in pairs for name in pair} | set(triggers))
    nodes = []
    for name in names:
        kind = (
            "trigger.manual"
            if name in triggers
            else "logic.branch"
            if name in branch
            else "data.transform"
        )
        raw: dict[str, Any] = {"id": name, "type": kind, "config": {}}
        if name in carry_on:
            raw["settings"] = {"continue_on_failure": True}
        nodes.append(raw)
    edge_list = []
    for source, target in pairs:
        name, _, handle = source.partition(":")
        edge_list.append(
            {"source": name, "target": target} | ({"sourceHandle": handle} if handle else {})
        )
    return load_stored_graph({"nodes": nodes, "edges": edge_list})


def states(spec: str) -> dict[str, State]:
    """``"t=succeeded a=succeeded:true b=pending"``."""
    result = {}
    for item in spec.split():
        name, _, value = item.partition("=")
        status, _, handle = value.partition(":")
        result[name] = State(StepStatus(status), handle)
    return result


# (graph, its options, states, ready, skipped)
PLANS = [
    pytest.param("t>a a>b", {}, "t=succeeded a=pending b=pending", ["a"], [], id="chain starts"),
    pytest.param("t>a a>b", {}, "t=succeeded a=running b=pending", [], [], id="waits for parent"),
    pytest.param("t>a a>b", {}, "t=succeeded a=succeeded b=pending", ["b"], [], id="chain goes on"),
    pytest.param(
        "t>a t>b a>c b>c",
        {},
        "t=succeeded a=succeeded b=running c=pending",
        [],
        [],
        id="join waits for every parent",
    ),
    pytest.param(
        "t>a t>b a>c b>c",
        {},
        "t=succeeded a=succeeded b=succeeded c=pending",
        ["c"],
        [],
        id="join runs when all are done",
    ),
    pytest.param(
        "t>a t>b",
        {},
        "t=succeeded a=pending b=pending",
        ["a", "b"],
        [],
        id="fan-out",
    ),
    pytest.param(
        "t>x x:true>y x:false>n",
        {"branch": "x"},
        "t=succeeded x=succeeded:true y=pending n=pending",
        ["y"],
        ["n"],
        id="branch true",
    ),
    pytest.param(
        "t>x x:true>y x:false>n",
        {"branch": "x"},
        "t=succeeded x=succeeded:false y=pending n=pending",
        ["n"],
        ["y"],
        id="branch false",
    ),
    pytest.param(
        "t>x x:true>y y>z z>w",
        {"branch": "x"},
        "t=succeeded x=succeeded:false y=pending z=pending w=pending",
        [],
        ["y", "z", "w"],
        id="skips cascade",
    ),
    pytest.param(
        "t>x x:true>y x:false>n y>j n>j",
        {"branch": "x"},
        "t=succeeded x=succeeded:true y=pending n=pending j=pending",
        ["y"],
        ["n"],
        id="join after a branch waits for the taken side",
    ),
    pytest.param(
        "t>x x:true>y x:false>n y>j n>j",
        {"branch": "x"},
        "t=succeeded x=succeeded:true y=succeeded n=skipped j=pending",
        ["j"],
        [],
        id="join runs when any branch reached it",
    ),
    pytest.param(
        "t>x x:true>y x:false>n y>j n>j",
        {"branch": "x"},
        "t=skipped x=skipped y=skipped n=skipped j=pending",
        [],
        ["j"],
        id="join skipped when no branch reached it",
    ),
    pytest.param(
        "t>a a>b",
        {},
        "t=succeeded a=failed b=pending",
        [],
        ["b"],
        id="a failure without continue skips what follows",
    ),
    pytest.param(
        "t>a a>b",
        {"carry_on": "a"},
        "t=succeeded a=failed b=pending",
        ["b"],
        [],
        id="continue on failure goes on",
    ),
    pytest.param(
        "t>a t>b a>c b>c",
        {},
        "t=succeeded a=failed b=succeeded c=pending",
        ["c"],
        [],
        id="a join runs if one parent succeeded",
    ),
    pytest.param(
        "t>a a>b a:error>e e>f",
        {},
        "t=succeeded a=failed:error b=pending e=pending f=pending",
        ["e"],
        ["b"],
        id="a handled failure takes its error path and skips the normal side",
    ),
    pytest.param(
        "t>a a>b a:error>e e>f",
        {},
        "t=succeeded a=succeeded b=pending e=pending f=pending",
        ["b"],
        ["e", "f"],
        id="a success never takes the error path: its side is skipped, cascading",
    ),
    pytest.param(
        "t>a a>b b>j a:error>e e>j",
        {},
        "t=succeeded a=failed:error b=pending e=succeeded j=pending",
        ["j"],
        ["b"],
        id="the error path and the normal side join again",
    ),
    pytest.param(
        "t>x x:true>y x:error>e",
        {"branch": "x"},
        "t=succeeded x=succeeded:true y=pending e=pending",
        ["y"],
        ["e"],
        id="a branch's error edge stays inactive when it decided",
    ),
    pytest.param(
        "t>x x:true>y x:false>n x:error>e",
        {"branch": "x"},
        "t=succeeded x=failed:error y=pending n=pending e=pending",
        ["e"],
        ["y", "n"],
        id="a branch that failed into its error path takes neither side",
    ),
    pytest.param(
        "t>a u>b",
        {"triggers": "tu"},
        "t=succeeded u=skipped a=pending b=pending",
        ["a"],
        ["b"],
        id="the unfired trigger's steps are skipped",
    ),
]


@pytest.mark.parametrize(("edges", "options", "given", "ready", "skipped"), PLANS)
def test_plan(
    edges: str, options: dict[str, str], given: str, ready: list[str], skipped: list[str]
) -> None:
    result = plan(flow(edges, **options), states(given))
    assert sorted(result.ready) == sorted(ready)
    assert result.skipped == skipped  # in topological order: a cascade reads front to back


def test_plan_never_moves_a_step_that_is_not_pending() -> None:
    graph = flow("t>a a>b")
    for status in set(StepStatus) - {PENDING}:
        assert plan(graph, states(f"t=succeeded a=succeeded b={status}")).ready == []


def test_initial_states_fire_one_trigger_and_skip_the_others() -> None:
    graph = flow("t>a u>b", triggers="tu")
    assert initial_states(graph, "u") == {
        "t": State(SKIPPED),
        "u": State(OK),
        "a": State(PENDING),
        "b": State(PENDING),
    }


@pytest.mark.parametrize(
    ("given", "finished"),
    [
        ("t=succeeded a=succeeded b=skipped", True),
        ("t=succeeded a=failed b=cancelled", True),
        ("t=succeeded a=succeeded b=queued", False),
        ("t=succeeded a=waiting b=pending", False),
    ],
)
def test_is_finished(given: str, finished: bool) -> None:
    assert is_finished(states(given)) is finished


@pytest.mark.parametrize(
    ("carry_on", "status", "fatal"),
    [("", FAILED, True), ("a", FAILED, False), ("", OK, False), ("", SKIPPED, False)],
)
def test_is_fatal(carry_on: str, status: StepStatus, fatal: bool) -> None:
    assert is_fatal(flow("t>a", carry_on=carry_on), "a", status) is fatal


def test_a_failure_with_an_error_path_is_not_fatal_but_one_on_the_path_is() -> None:
    graph = flow("t>a a>b a:error>e")
    assert is_fatal(graph, "a", FAILED) is False
    assert is_fatal(graph, "e", FAILED) is True
    assert is_fatal(graph, "b", FAILED) is True


def test_a_run_whose_error_path_completed_is_finished() -> None:
    given = "t=succeeded a=failed:error b=skipped e=succeeded"
    assert is_finished(states(given)) is True
    assert plan(flow("t>a a>b a:error>e"), states(given)) == Plan()


@pytest.mark.parametrize(
    ("edges", "outputs", "expected"),
    [
        pytest.param("t>a a>b", {"t": 0, "a": 1, "b": 2}, 2, id="one sink: its output"),
        pytest.param(
            "t>a t>b", {"t": 0, "a": 1, "b": 2}, {"a": 1, "b": 2}, id="several sinks: by node"
        ),
        pytest.param("t>a t>b", {"t": 0, "a": 1}, 1, id="a skipped sink is left out"),
        pytest.param("t>a t>b", {"t": 0}, {}, id="no sink succeeded"),
        pytest.param("t>a a>b a>c b>d", {"c": "c", "d": "d"}, {"c": "c", "d": "d"}, id="depth"),
        pytest.param(
            "t>a a:error>e", {"t": 0, "a": 1}, 1, id="a step that succeeded past its error path"
        ),
        pytest.param("t>a a:error>e", {"t": 0, "e": 2}, 2, id="the end of an error path"),
    ],
)
def test_run_output(edges: str, outputs: dict[str, Any], expected: Any) -> None:
    assert run_output(flow(edges), outputs) == expected


def test_topological_order_puts_parents_first() -> None:
    order = topological_order(flow("t>a t>b a>c b>c c>d"))
    assert order.index("t") < order.index("a") < order.index("c") < order.index("d")
    assert order.index("b") < order.index("c")
