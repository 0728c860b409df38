"""Database-change triggers on a table Tributary did not create: inserts, updates and
deletes become runs through the real scheduler's listener; changes made while it was
down are not lost; deactivating removes what was installed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from designer.models import Flow
from designer.services import flow_archive, flow_create
from runtime.models import Run
from tests.conftest import Team
from tests.factories import edge, graph, node
from tests.runtime.helpers import publish
from tests.stack import MakeStack, Stack, wait_for_run

ROW_SUMMARY = "{{ event.trigger.operation }} {{ (event.trigger.new or event.trigger.old).id }}"
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop_table() -> Iterator[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE shop_orders (id serial PRIMARY KEY, email text, status text, note text)"
        )
    yield "public.shop_orders"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS shop_orders")


def watch(team: Team, table: str, **config: Any) -> Flow:
    return publish(
        team,
        graph(
            node("rows", "trigger.dbchange", table=table, **config),
            node(
                "shape",
                "data.transform",
                value=ROW_SUMMARY,
            ),
            edges=[edge("rows", "shape")],
        ),
    )


def execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def runs_eventually(count: int, timeout: float = 20) -> list[Run]:
    deadline = time.monotonic() + timeout
    while Run.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(Run.objects.order_by("id"))


def installed(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = 'tributary_capture' "
            "AND tgrelid = %s::regclass",
            [table],
        )
        return cursor.fetchone() is not None


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


def test_a_change_made_while_the_listener_is_down_still_starts_its_run(
    team: Team, make_stack: MakeStack, shop_table: str
) -> None:
    stack = make_stack()
    stack.start_worker()
    watch(team, shop_table)
    execute("INSERT INTO shop_orders (email) VALUES ('late@example.com')")
    assert not Run.objects.exists()  # no listener is running
    stack.start_scheduler()
    [run] = runs_eventually(1)
    assert wait_for_run(run).output == "insert 1"


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
