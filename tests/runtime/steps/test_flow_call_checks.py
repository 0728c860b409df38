"""Saving a flow.call is checked against the workspace: the callee, the version called,
its declared input fields, and call cycles — each a 400 naming the node and the field,
with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from designer.models import Flow
from tests.conftest import Team
from tests.factories import node, workspace
from tests.runtime.callees import call, callee, greeter
from tests.runtime.helpers import chain, publish

pytestmark = [pytest.mark.django_db]


def _save(team: Team, flow: Flow, graph: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/versions/", {"graph": graph}, format="json"
    )
    return response.status_code, response.json()


def _refusal(team: Team, flow: Flow, graph: dict[str, Any]) -> dict[str, Any]:
    before = flow.versions.count()
    status, body = _save(team, flow, graph)
    assert status == 400, body
    assert flow.versions.count() == before
    (error,) = body["errors"]
    return error


def test_a_flow_calling_itself_is_refused_naming_the_node(team: Team) -> None:
    me = publish(team, callee(node("greet", "data.transform", value=1)), name="Me")
    error = _refusal(team, me, callee(call("again", me)))
    assert (error["node"], error["field"]) == ("again", "config.flow")
    assert "cycle: Me → Me" in error["message"]


def test_a_call_to_a_flow_whose_live_version_calls_back_is_refused(team: Team) -> None:
    second = greeter(team, name="Second")
    first = publish(team, callee(call("to_second", second)), name="First")
    error = _refusal(team, second, callee(call("back", first)))
    assert error["node"] == "back"
    assert "cycle: Second → First → Second" in error["message"]


def test_calling_a_pinned_version_that_does_not_call_back_is_no_cycle(team: Team) -> None:
    second = greeter(team, name="Second")
    first = publish(team, callee(call("to_second", second)), name="First")
    # First's version 1 calls Second live; a pin on it from Second would loop...
    assert _refusal(team, second, callee(call("back", first, version=1)))["node"] == "back"
    # ...but Second's own version 1 calls nobody: pinning it is fine.
    status, body = _save(team, first, callee(call("to_second", second, version=1)))
    assert status == 201, body


def test_a_flow_of_another_workspace_cannot_be_called(team: Team) -> None:
    elsewhere = workspace("Elsewhere too")
    theirs = Flow.objects.create(workspace=elsewhere, name="Theirs", owner=team.admin)
    mine = publish(team, chain(node("noop", "data.transform", value=1)))
    error = _refusal(team, mine, chain(call("call", theirs)))
    assert (error["node"], error["field"]) == ("call", "config.flow")
    assert error["message"] == f"There is no flow #{theirs.pk} in this workspace."


def test_a_flow_without_a_called_trigger_cannot_be_called(team: Team) -> None:
    plain = publish(team, chain(node("noop", "data.transform", value=1)), name="Plain")
    mine = publish(team, chain(node("noop", "data.transform", value=1)))
    error = _refusal(team, mine, chain(call("call", plain)))
    assert "Version 1 of Plain cannot be called" in error["message"]


def test_a_missing_pinned_version_is_named(team: Team) -> None:
    greeting = greeter(team)
    mine = publish(team, chain(node("noop", "data.transform", value=1)))
    error = _refusal(team, mine, chain(call("call", greeting, version=7)))
    assert (error["field"], error["message"]) == ("config.version", "Greeter has no version 7.")


@pytest.mark.parametrize(
    ("given", "field", "says"),
    [
        ({}, "config.input.name", "requires the input field 'name'"),
        ({"name": "Ada", "age": "3"}, "config.input.age", "has no input field 'age'"),
    ],
)
def test_the_input_must_match_the_declared_fields(
    team: Team, given: dict[str, Any], field: str, says: str
) -> None:
    greeting = greeter(team)
    mine = publish(team, chain(node("noop", "data.transform", value=1)))
    error = _refusal(team, mine, chain(call("call", greeting, input=given)))
    assert (error["node"], error["field"]) == ("call", field)
    assert says in error["message"]


def test_importing_a_flow_that_calls_an_unknown_flow_is_refused(team: Team) -> None:
    data = {"tributary": 1, "name": "Imported", **chain(call("call", greeter(team)))}
    data["nodes"][1]["config"]["flow"] = 999999
    response = team.client(team.editor).post(
        f"/api/flows/import/?workspace={team.workspace.pk}", data, format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["node"] == "call"
    assert not Flow.objects.filter(name="Imported").exists()
