"""Export is the graph contract plus a name; importing it back gives the same graph, through
the API and through manage.py export_flow / import_flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from designer.models import Flow
from tests.conftest import Team
from tests.factories import flow, simple_graph

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
