"""Versions are immutable and numbered 1, 2, 3... per flow, even under concurrent saves."""

from __future__ import annotations

import threading

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


def test_a_version_cannot_be_changed_through_a_queryset(team: Team) -> None:
    flow(team.editor, team.workspace)
    with pytest.raises(ImmutableVersionError):
        FlowVersion.objects.filter(number=1).update(message="tampered")


def test_a_version_cannot_be_deleted_through_the_orm(team: Team) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    with pytest.raises(ImmutableVersionError):
        version.delete()
    with pytest.raises(ImmutableVersionError):
        FlowVersion.objects.all().delete()


def test_the_database_refuses_to_rewrite_a_version_even_with_raw_sql(team: Team) -> None:
    version = flow(team.editor, team.workspace).versions.get()
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        sql = "UPDATE designer_flowversion SET graph = '{}' WHERE id = %s"
        cursor.execute(sql, [version.pk])
    assert FlowVersion.objects.get(pk=version.pk).graph == version.graph != {}


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
