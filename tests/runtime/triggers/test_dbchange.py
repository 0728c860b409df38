"""Database-change triggers on a table Tributary did not create: inserts, updates and
deletes become runs through the real scheduler's listener; deactivating removes what was
installed. Downtime: test_dbchange_downtime.py (it needs a stack of its own)."""

from __future__ import annotations

import time

import pytest

from designer.services import flow_archive, flow_create
from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.triggers.tables import execute, installed, runs_eventually, watch
from tests.stack import Stack, wait_for_run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_inserts_updates_and_deletes_each_start_a_run_with_the_row(
    team: Team, stack: Stack, shop_table: str
) -> None:
    watch(team, shop_table)
    assert installed(shop_table)
    execute("INSERT INTO shop_orders (email, status) VALUES ('ada@example.com', 'new')")
    execute("UPDATE shop_orders SET status = 'paid' WHERE id = 1")
    execute("DELETE FROM shop_orders WHERE id = 1")
    runs = runs_eventually(3)
    assert [run.input["operation"] for run in runs] == ["insert", "update", "delete"]
    insert, update, delete = runs
    assert insert.input["new"] == {
        "id": 1,
        "email": "ada@example.com",
        "status": "new",
        "note": None,
    }
    assert (update.input["old"]["status"], update.input["new"]["status"]) == ("new", "paid")
    assert update.input["changed_columns"] == ["status"]
    assert delete.input["old"]["id"] == 1 and delete.input["new"] is None
    assert [wait_for_run(run).output for run in runs] == ["insert 1", "update 1", "delete 1"]


def test_operations_and_columns_filter_changes(team: Team, stack: Stack, shop_table: str) -> None:
    watch(team, shop_table, operations=["update"], columns=["status"])
    execute("INSERT INTO shop_orders (email, status) VALUES ('a@example.com', 'new')")
    execute("UPDATE shop_orders SET note = 'gift wrap' WHERE id = 1")
    execute("UPDATE shop_orders SET status = 'paid' WHERE id = 1")
    runs = runs_eventually(1)
    time.sleep(1.5)  # give the ignored changes every chance to show up wrongly
    assert [run.input["changed_columns"] for run in Run.objects.all()] == [["status"]]
    assert len(runs) == 1


def test_archiving_removes_the_installed_trigger(team: Team, stack: Stack, shop_table: str) -> None:
    flow = watch(team, shop_table)
    assert installed(shop_table)
    flow_archive(flow=flow, user=team.editor)
    assert not installed(shop_table)
    execute("INSERT INTO shop_orders (email) VALUES ('x@example.com')")
    time.sleep(1.5)
    assert not Run.objects.exists()


def test_publishing_a_trigger_on_a_missing_table_names_the_node(team: Team) -> None:
    flow = flow_create(
        user=team.editor,
        workspace=team.workspace,
        name="Ghost",
        graph=graph(
            node("rows", "trigger.dbchange", table="public.no_such_table"),
            node("shape", "data.transform", value=1),
            edges=[edge("rows", "shape")],
        ),
    )
    response = team.client(team.editor).post(
        f"/api/flows/{flow.pk}/publish/", {"version": 1}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["node"], error["field"]) == ("rows", "config.table")
    assert "no_such_table" in error["message"]
    flow.refresh_from_db()
    assert flow.live_version is None
