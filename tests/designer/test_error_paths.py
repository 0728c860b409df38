"""Error paths in the graph contract: every step may have edges from its "error" output; a
trigger may not, and a step does not both continue on failure and have an error path. The
edges travel through save, export/import and the versions diff like any other."""

from __future__ import annotations

from typing import Any

import pytest

from designer.graph import GraphInvalid, Problem
from designer.services import graph_validate
from tests.conftest import Team
from tests.factories import edge, flow, graph, node

TRIGGER = node("start", "trigger.manual")
FALLBACK = node("fallback", "data.transform", value="{{ event.steps.call.error.message }}")


def call_with_error_path(**settings: Any) -> dict[str, Any]:
    call = node("call", "http.request", url="https://api.example/orders")
    if settings:
        call["settings"] = settings
    return graph(
        TRIGGER,
        call,
        node("after", "data.transform", value=1),
        FALLBACK,
        edges=[edge("start", "call"), edge("call", "after"), edge("call", "fallback", "error")],
    )


def problems(data: Any) -> list[Problem]:
    with pytest.raises(GraphInvalid) as caught:
        graph_validate(data)
    return caught.value.problems


@pytest.mark.parametrize(
    "step",
    [
        node("call", "http.request", url="https://api.example/orders"),
        node("call", "data.transform", value=1),
        node("call", "code.python", source="def handler(event, context):\n    return 1\n"),
        node("call", "flow.foreach", items="{{ event.trigger.items }}"),
    ],
    ids=lambda step: step["type"],
)
def test_any_step_may_have_an_error_path(step: dict[str, Any]) -> None:
    more = [node("body", "data.transform", value=1) | {"parent": "call"}]
    body = more if step["type"] == "flow.foreach" else []
    parsed = graph_validate(
        graph(
            TRIGGER,
            step,
            FALLBACK,
            *body,
            edges=[edge("start", "call"), edge("call", "fallback", "error")],
        )
    )
    assert parsed.handles_errors("call")
    assert not parsed.handles_errors("start")


def test_a_branch_has_an_error_output_besides_true_and_false() -> None:
    graph_validate(
        graph(
            TRIGGER,
            node("check", "logic.branch", condition="event.trigger.total > 100"),
            node("big", "data.transform", value=1),
            FALLBACK,
            edges=[
                edge("start", "check"),
                edge("check", "big", "true"),
                edge("check", "fallback", "error"),
            ],
        )
    )


def test_a_trigger_has_no_error_output() -> None:
    (problem,) = problems(graph(TRIGGER, FALLBACK, edges=[edge("start", "fallback", "error")]))
    assert (problem.node, problem.field) == ("start", "edges[0].sourceHandle")
    assert "no error output" in problem.message


def test_a_step_does_not_both_continue_on_failure_and_have_an_error_path() -> None:
    (problem,) = problems(call_with_error_path(continue_on_failure=True))
    assert (problem.node, problem.field) == ("call", "settings.continue_on_failure")
    assert "choose one" in problem.message


def test_saving_through_the_api_names_the_node_of_a_refused_error_path(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders")
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/",
        {"graph": call_with_error_path(continue_on_failure=True), "based_on": 1},
        format="json",
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["node"], error["field"]) == ("call", "settings.continue_on_failure")
    assert orders.versions.count() == 1


def test_an_error_path_round_trips_through_export_and_import(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders", graph_data=call_with_error_path())
    client = team.client(team.editor)
    exported = client.get(f"/api/flows/{orders.pk}/export/").json()
    assert {"source": "call", "target": "fallback", "sourceHandle": "error"} in exported["edges"]
    imported = client.post("/api/flows/import/", exported | {"name": "Copy"}, format="json")
    assert imported.status_code == 201, imported.content
    copy_graph = client.get(f"/api/flows/{imported.json()['id']}/versions/1/").json()["graph"]
    assert copy_graph == orders.versions.get().graph


def test_the_versions_diff_lists_an_added_error_path(team: Team) -> None:
    before = call_with_error_path()
    before["edges"] = before["edges"][:2]
    orders = flow(team.editor, team.workspace, "Orders", graph_data=before)
    client = team.client(team.editor)
    saved = client.post(
        f"/api/flows/{orders.pk}/versions/",
        {"graph": call_with_error_path(), "based_on": 1},
        format="json",
    )
    assert saved.status_code == 201, saved.content
    diff = client.get(f"/api/flows/{orders.pk}/versions/2/diff/?against=1").json()
    assert diff["edges"]["added"] == [
        {"source": "call", "target": "fallback", "sourceHandle": "error"}
    ]
