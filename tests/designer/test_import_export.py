"""Export is the graph contract plus a name; importing it back gives the same graph, through
the API and through manage.py export_flow / import_flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from designer.models import Flow, Membership
from designer.services import flow_version_save
from tests.conftest import Team
from tests.factories import flow, simple_graph
from tests.runtime.callees import call, greeter
from tests.runtime.helpers import chain

EXAMPLE = Path(__file__).resolve().parents[2] / "designer" / "examples" / "new_order_email.json"


def test_the_api_round_trips_a_flow(team: Team) -> None:
    example = json.loads(EXAMPLE.read_text())
    orders = flow(
        team.editor,
        team.workspace,
        "Orders",
        graph_data={"nodes": example["nodes"], "edges": example["edges"]},
    )
    client = team.client(team.editor)
    exported = client.get(f"/api/flows/{orders.pk}/export/")
    assert exported.status_code == 200
    assert "attachment" in exported["Content-Disposition"]
    data = exported.json()
    assert (data["tributary"], data["name"]) == (1, "Orders")
    imported = client.post("/api/flows/import/", data | {"name": "Orders copy"}, format="json")
    assert imported.status_code == 201, imported.content
    copy = Flow.objects.get(pk=imported.json()["id"])
    assert copy.versions.get().graph == orders.versions.get().graph


def test_importing_a_broken_export_names_the_problem_and_stores_nothing(team: Team) -> None:
    data = {"name": "Broken", **simple_graph()}
    data["nodes"][1]["type"] = "ftp.upload"
    response = team.client(team.editor).post("/api/flows/import/", data, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["node"] == "shape"
    assert not Flow.objects.exists()


def test_importing_without_a_name_is_refused(team: Team) -> None:
    response = team.client(team.editor).post("/api/flows/import/", simple_graph(), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


def test_an_import_that_is_not_an_object_is_refused(team: Team) -> None:
    response = team.client(team.editor).post("/api/flows/import/", [1, 2], format="json")
    assert response.status_code == 400


def test_the_commands_round_trip_the_example(team: Team, tmp_path: Path) -> None:
    call_command("import_flow", str(EXAMPLE), workspace="shop", user="alice", publish=True)
    original = Flow.objects.get()
    assert original.live_version is not None
    out = tmp_path / "export.json"
    call_command("export_flow", str(original.pk), output=str(out))
    call_command("import_flow", str(out), workspace="shop", user="alice", name="Copy")
    copy = Flow.objects.get(name="Copy")
    assert copy.versions.get().graph == original.live_version.graph
    assert json.loads(out.read_text())["name"] == original.name


def test_the_import_command_lists_every_problem(team: Team, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    data = {"name": "Broken", **simple_graph()}
    data["nodes"][1]["config"] = {}
    broken.write_text(json.dumps(data))
    with pytest.raises(CommandError, match=r"shape\.config\.value: This field is required"):
        call_command("import_flow", str(broken), workspace="shop", user="alice")


def test_the_import_command_explains_unreadable_files(team: Team, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_flow", str(tmp_path / "missing.json"), workspace="shop")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_flow", str(tmp_path / "bad.json"), workspace="shop")


def _caller_of(team: Team) -> tuple[Flow, Flow]:
    """A published callee declaring ``name`` and a caller whose flow.call fills it."""
    greeting = greeter(team)
    caller = flow(team.editor, team.workspace, "Orders", graph_data=chain(call("call", greeting)))
    return greeting, caller


def test_a_flow_that_calls_a_flow_and_the_flow_it_calls_round_trip(team: Team) -> None:
    greeting, caller = _caller_of(team)
    client = team.client(team.editor)
    for original in (greeting, caller):
        data = client.get(f"/api/flows/{original.pk}/export/").json()
        imported = client.post("/api/flows/import/", data | {"name": "Copy"}, format="json")
        assert imported.status_code == 201, imported.content
        copy = Flow.objects.get(pk=imported.json()["id"])
        assert copy.versions.get().graph == original.versions.get(number=1).graph
    (call_node,) = [n for n in caller.versions.get().graph["nodes"] if n["type"] == "flow.call"]
    assert call_node["config"] == {"flow": greeting.pk, "input": {"name": "Ada"}}


def test_importing_a_call_into_a_workspace_without_its_callee_names_the_node(team: Team) -> None:
    _, caller = _caller_of(team)
    data = team.client(team.editor).get(f"/api/flows/{caller.pk}/export/").json()
    elsewhere = Membership.objects.get(user=team.outsider).workspace
    response = team.client(team.outsider).post(
        f"/api/flows/import/?workspace={elsewhere.pk}", data, format="json"
    )
    assert response.status_code == 400
    (problem,) = response.json()["errors"]
    assert (problem["node"], problem["field"]) == ("call", "config.flow")
    assert not Flow.objects.filter(workspace=elsewhere).exists()


def test_the_versions_diff_lists_a_changed_call_input(team: Team) -> None:
    greeting, caller = _caller_of(team)
    flow_version_save(
        flow=caller,
        user=team.editor,
        graph=chain(call("call", greeting, input={"name": "{{ event.trigger.who }}"})),
    )
    diff = team.client(team.viewer).get(f"/api/flows/{caller.pk}/versions/2/diff/", {"against": 1})
    assert diff.status_code == 200, diff.content
    assert diff.json()["nodes"]["changed"] == [{"id": "call", "fields": ["config.input"]}]
    page = team.client(team.viewer).get(f"/flows/{caller.pk}/versions/").content.decode()
    assert "Changes from v1 to v2" in page and "config.input" in page
