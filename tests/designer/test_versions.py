"""Versions are immutable and numbered 1, 2, 3... per flow, even under concurrent saves."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from designer.models import FlowVersion, ImmutableVersionError
from designer.services import VersionConflict, flow_version_save
from tests.conftest import Team
from tests.factories import flow, simple_graph


def test_a_saved_version_cannot_be_saved_again(team: Team) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    version.graph = simple_graph("tampered")
    with pytest.raises(ImmutableVersionError):
        version.save()


@pytest.mark.parametrize("change", [{"graph": {}}, {"number": 7}])
def test_a_version_cannot_be_changed_through_a_queryset(team: Team, change: dict[str, Any]) -> None:
    flow(team.editor, team.workspace)
    with pytest.raises(ImmutableVersionError):
        FlowVersion.objects.filter(number=1).update(**change)


def test_a_version_saves_when_its_graph_number_and_flow_stay_the_same(team: Team) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    version.author = None
    version.save(update_fields=["author"])
    version.message = "First version, explained"
    version.save()
    stored = FlowVersion.objects.get(pk=version.pk)
    assert (stored.author, stored.message, stored.graph) == (
        None,
        "First version, explained",
        version.graph,
    )


def test_a_version_cannot_be_deleted_through_the_orm(team: Team) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    with pytest.raises(ImmutableVersionError):
        version.delete()
    with pytest.raises(ImmutableVersionError):
        FlowVersion.objects.all().delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE designer_flowversion SET graph = '{}' WHERE id = %(id)s",
        "UPDATE designer_flowversion SET number = number + 1 WHERE id = %(id)s",
        "UPDATE designer_flowversion SET flow_id = %(other)s WHERE id = %(id)s",
    ],
)
def test_the_database_refuses_to_rewrite_a_version_even_with_raw_sql(team: Team, sql: str) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    other = flow(team.editor, team.workspace, "Other")
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, {"id": version.pk, "other": other.pk})
    stored = FlowVersion.objects.get(pk=version.pk)
    assert (stored.graph, stored.number, stored.flow_id) == (version.graph, 1, version.flow_id)


def test_deleting_a_user_who_saved_versions_keeps_the_versions_without_an_author(
    team: Team,
) -> None:
    # author is SET_NULL: an UPDATE of the author alone, which the trigger must let through.
    orders = flow(team.editor, team.workspace)
    flow_version_save(flow=orders, user=team.editor, graph=simple_graph("v2"))
    team.editor.delete()
    assert list(orders.versions.values_list("number", "author")) == [(2, None), (1, None)]
    assert orders.versions.get(number=2).graph["nodes"][1]["config"] == {"value": {"message": "v2"}}


def test_versions_are_numbered_per_flow(team: Team) -> None:
    orders = flow(team.editor, team.workspace, "Orders")
    refunds = flow(team.editor, team.workspace, "Refunds")
    saved = flow_version_save(flow=orders, user=team.editor, graph=simple_graph("v2"))
    assert saved.number == 2
    assert flow_version_save(flow=refunds, user=team.editor, graph=simple_graph()).number == 2
    assert list(orders.versions.values_list("number", flat=True)) == [2, 1]


def test_saving_from_an_old_version_is_a_conflict_unless_forced(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    flow_version_save(flow=orders, user=team.admin, graph=simple_graph("theirs"), based_on=1)
    with pytest.raises(VersionConflict) as conflict:
        flow_version_save(flow=orders, user=team.editor, graph=simple_graph("mine"), based_on=1)
    assert conflict.value.latest.number == 2
    assert "alice" in str(conflict.value)
    forced = flow_version_save(
        flow=orders, user=team.editor, graph=simple_graph("mine"), based_on=1, force=True
    )
    assert (forced.number, forced.based_on) == (3, 1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_get_consecutive_numbers(team: Team) -> None:
    orders = flow(team.editor, team.workspace)
    savers = 8
    start = threading.Barrier(savers)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def save(index: int) -> None:
        try:
            start.wait()
            version = flow_version_save(
                flow=orders, user=team.editor, graph=simple_graph(f"writer {index}")
            )
            numbers.append(version.number)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(savers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == list(range(2, savers + 2))
    assert orders.versions.count() == savers + 1
