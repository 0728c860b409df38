"""For-each containers in the graph contract: body steps name their for-each as ``parent``;
every rule is a 400 naming the node and field with nothing saved; graphs without bodies
read as before; ``body()`` and ``top_level()`` slice what a run and a child run plan."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from designer.graph import GraphInvalid, Problem, load_stored_graph
from designer.services import graph_validate
from tests.conftest import Team
from tests.factories import edge, flow, graph, node, simple_graph


def foreach(node_id: str, parent: str | None = None) -> dict[str, Any]:
    data = node(node_id, "flow.foreach", "For each", items="{{ event.trigger.items }}")
    return inside(data, parent) if parent else data


def inside(data: dict[str, Any], parent: str) -> dict[str, Any]:
    return data | {"parent": parent, "position": {"x": 20, "y": 40}}


def step(node_id: str, parent: str | None = None) -> dict[str, Any]:
    data = node(node_id, "data.transform", value="{{ item }} at {{ index }}")
    return inside(data, parent) if parent else data


def loop_graph() -> dict[str, Any]:
    """start → loop → after, with loop's body fetch → shape."""
    return graph(
        node("start", "trigger.manual"),
        foreach("loop"),
        step("fetch", "loop"),
        step("shape", "loop"),
        step("after"),
        edges=[edge("start", "loop"), edge("fetch", "shape"), edge("loop", "after")],
    )


def problems(data: Any) -> list[Problem]:
    with pytest.raises(GraphInvalid) as caught:
        graph_validate(data)
    return caught.value.problems


def test_a_for_each_with_a_body_is_valid_and_keeps_parent_in_its_json() -> None:
    parsed = graph_validate(loop_graph())
    assert parsed.nodes["fetch"].parent == "loop"
    assert parsed.nodes["loop"].parent is None
    stored = {raw["id"]: raw.get("parent") for raw in parsed.as_json()["nodes"]}
    assert stored == {"start": None, "loop": None, "fetch": "loop", "shape": "loop", "after": None}
    assert parsed.as_json() == load_stored_graph(parsed.as_json()).as_json()


def test_a_graph_without_bodies_reads_exactly_as_before() -> None:
    data = simple_graph()
    parsed = graph_validate(data)
    assert all("parent" not in raw for raw in parsed.as_json()["nodes"])
    assert parsed.top_level() is parsed
    assert load_stored_graph(data).as_json() == parsed.as_json()


def test_the_top_level_holds_the_for_each_as_one_step_and_not_its_body() -> None:
    top = load_stored_graph(loop_graph()).top_level()
    assert list(top.nodes) == ["start", "loop", "after"]
    assert [e.as_json() for e in top.edges] == [edge("start", "loop"), edge("loop", "after")]


def test_a_body_is_its_steps_and_edges_with_its_entry_steps_as_roots() -> None:
    body = load_stored_graph(loop_graph()).body("loop")
    assert (body.scope, list(body.nodes)) == ("loop", ["fetch", "shape"])
    assert [e.as_json() for e in body.edges] == [edge("fetch", "shape")]
    assert body.roots() == ["fetch"]
    assert body.top_level() is body


def test_only_a_for_each_has_a_body() -> None:
    with pytest.raises(KeyError):
        load_stored_graph(loop_graph()).body("after")


def test_a_body_step_sees_item_and_the_steps_upstream_of_its_for_each() -> None:
    data = loop_graph()
    data["nodes"].insert(1, step("prepare"))
    data["edges"] = [edge("start", "prepare"), edge("prepare", "loop"), *data["edges"][1:]]
    parsed = graph_validate(data)
    assert parsed.visible_steps("shape") == {"fetch", "prepare", "start"}
    assert parsed.visible_steps("after") == {"loop", "prepare", "start"}
    assert parsed.sees_item("shape") and not parsed.sees_item("after")


def test_loops_nest_and_each_level_is_its_own_body() -> None:
    data = graph(
        node("start", "trigger.manual"),
        foreach("outer"),
        foreach("middle", "outer"),
        foreach("inner", "middle"),
        step("work", "inner"),
        edges=[edge("start", "outer")],
    )
    parsed = graph_validate(data)
    assert list(parsed.body("outer").nodes) == ["middle"]
    assert list(parsed.body("inner").nodes) == ["work"]
    assert parsed.enclosing("work") == ["inner", "middle", "outer"]
    assert parsed.visible_steps("work") == {"start"}


def test_a_cycle_inside_a_body_is_refused() -> None:
    data = loop_graph()
    data["edges"].append(edge("shape", "fetch"))
    assert {p.node for p in problems(data)} == {"fetch", "shape"}


def nested(depth: int) -> dict[str, Any]:
    loops = [foreach("loop1")] + [foreach(f"loop{n}", f"loop{n - 1}") for n in range(2, depth + 1)]
    return graph(
        node("start", "trigger.manual"),
        *loops,
        step("work", f"loop{depth}"),
        edges=[edge("start", "loop1")],
    )


def broken(change: str) -> dict[str, Any]:
    data = loop_graph()
    nodes = {raw["id"]: raw for raw in data["nodes"]}
    if change == "unknown parent":
        nodes["fetch"]["parent"] = "nowhere"
    elif change == "parent not a for-each":
        nodes["fetch"]["parent"] = "after"
    elif change == "parent not text":
        nodes["fetch"]["parent"] = 7
    elif change == "trigger inside":
        nodes["start"]["parent"] = "loop"
        data["edges"] = data["edges"][1:]
    elif change == "edge into a body":
        data["edges"].append(edge("start", "fetch"))
    elif change == "edge out of a body":
        data["edges"].append(edge("shape", "after"))
    elif change == "for-each into its own body":
        data["edges"].append(edge("loop", "fetch"))
    elif change == "empty body":
        data["nodes"] = [raw for raw in data["nodes"] if raw.get("parent") != "loop"]
        data["edges"] = [e for e in data["edges"] if e["source"] != "fetch"]
    elif change == "parents loop":
        data["nodes"].append(inside(foreach("other"), "loop"))
        nodes["loop"]["parent"] = "other"
    return data


@pytest.mark.parametrize(
    ("change", "blamed", "field", "words"),
    [
        ("unknown parent", "fetch", "parent", "not a node of this graph"),
        ("parent not a for-each", "fetch", "parent", "only a For each holds steps"),
        ("parent not text", "fetch", "parent", "parent must be the id"),
        ("trigger inside", "start", "parent", "A trigger cannot sit inside"),
        ("edge into a body", "fetch", "edges[3]", "crosses the edge of a for-each body"),
        ("edge out of a body", "after", "edges[3]", "crosses the edge"),
        ("for-each into its own body", "fetch", "edges[3]", "crosses the edge"),
        ("empty body", "loop", "body", "at least one step"),
        ("parents loop", "loop", "parent", "cannot sit inside itself"),
    ],
)
def test_each_container_rule_is_a_400_naming_node_and_field_and_saves_nothing(
    team: Team, change: str, blamed: str, field: str, words: str
) -> None:
    orders = flow(team.editor, team.workspace)
    response = team.client(team.editor).post(
        f"/api/flows/{orders.pk}/versions/", {"graph": broken(change)}, format="json"
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(
        (e["node"], e["field"]) == (blamed, field) and words in e["message"] for e in errors
    ), errors
    assert orders.versions.count() == 1


def test_loops_nest_three_deep_but_not_four() -> None:
    graph_validate(nested(3))
    found = problems(nested(4))
    assert [(p.node, p.field) for p in found] == [("loop4", "parent")]
    assert "at most 3 deep" in found[0].message


def test_the_for_each_settings_are_checked_at_save() -> None:
    data = loop_graph()
    data["nodes"][1]["config"] = {"items": "{{ event.trigger.items }}", "concurrency": 500}
    assert [(p.node, p.field) for p in problems(data)] == [("loop", "config.concurrency")]
    data["nodes"][1]["config"] = {"on_item_failure": "ignore"}
    assert {p.field for p in problems(data)} == {"config.items", "config.on_item_failure"}


def test_a_flow_with_a_for_each_round_trips_through_export_and_import(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders", graph_data=loop_graph())
    client = team.client(team.editor)
    exported = client.get(f"/api/flows/{orders.pk}/export/").json()
    imported = client.post("/api/flows/import/", exported | {"name": "Copy"}, format="json")
    assert imported.status_code == 201, imported.content
    copy_graph = client.get(f"/api/flows/{imported.json()['id']}/versions/1/").json()["graph"]
    assert copy_graph == orders.versions.get().graph
    assert json.dumps(copy_graph).count('"parent": "loop"') == 2


def test_moving_a_step_into_a_body_shows_in_the_diff(team: Team) -> None:
    before = loop_graph()
    after = copy.deepcopy(before)
    after["nodes"][4] = inside(after["nodes"][4], "loop")
    after["edges"] = [e for e in after["edges"] if e["target"] != "after"]
    after["edges"].append(edge("shape", "after"))
    orders = flow(team.editor, team.workspace, "Orders", graph_data=before)
    client = team.client(team.editor)
    saved = client.post(
        f"/api/flows/{orders.pk}/versions/", {"graph": after, "based_on": 1}, format="json"
    )
    assert saved.status_code == 201, saved.content
    diff = client.get(f"/api/flows/{orders.pk}/versions/2/diff/?against=1").json()
    assert {"id": "after", "fields": ["parent"]} in diff["nodes"]["changed"]
