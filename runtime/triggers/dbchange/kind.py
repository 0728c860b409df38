"""trigger.dbchange: start on inserts, updates or deletes in a PostgreSQL table.

Activating one installs a row trigger on the table (migration 0003's capture function),
which writes each change to the outbox table in the changing transaction and NOTIFYs the
listener. The listener (in `manage.py scheduler`) turns outbox rows into runs and deletes
them in one transaction (runtime.triggers.dbchange.outbox): a change made while it was
down waits in the outbox. Works for tables Tributary did not create, in Tributary's own
database; never for Tributary's or Django's own tables (see tables.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction

from designer.graph import Graph, GraphInvalid, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import SampleRefused, TriggerKind
from runtime.kinds.samples import sample_fields, sample_time
from runtime.models import DbChangeSubscription
from runtime.triggers.dbchange.tables import install_refusal, refusal

logger = logging.getLogger(__name__)
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
TRIGGER_NAME = "tributary_capture"
CHANNEL = "tributary_dbchange"
OPERATIONS = ["insert", "update", "delete"]
CHANGE_KEYS = ("table", "operation", "new", "old", "changed_columns", "changed_at")
CHANGE_SHAPE = (
    "A database change delivers {table, operation, new, old, changed_columns, changed_at}."
)


class DatabaseChangeTrigger(TriggerKind):
    type = "trigger.dbchange"
    label = "Database change"
    description = "Start the flow when rows change in a PostgreSQL table."
    output_example = {
        "table": "orders",
        "operation": "insert",
        "new": {"id": 1},
        "old": None,
        "changed_columns": [],
        "changed_at": "2026-01-01T09:00:00+00:00",
    }
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["table"],
        "properties": {
            "table": {
                "type": "string",
                "title": "Table",
                "pattern": f"^{IDENTIFIER}\\.{IDENTIFIER}$",
                "description": "Schema-qualified, e.g. public.orders.",
            },
            "operations": {
                "type": "array",
                "title": "On",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": OPERATIONS},
                "default": OPERATIONS,
            },
            "columns": {
                "type": "array",
                "title": "Only when these columns change",
                "uniqueItems": True,
                "items": {"type": "string", "pattern": f"^{IDENTIFIER}$"},
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        if connection.vendor != "postgresql":
            yield Problem(
                "Database-change triggers need PostgreSQL; this server runs on "
                f"{connection.vendor}. Set DATABASE_URL to a PostgreSQL database.",
                node=node.id,
                field="type",
            )
        problem = refusal(node.config["table"])
        if problem:
            yield Problem(problem, node=node.id, field="config.table")

    def activate(self, flow: Flow, nodes: Sequence[Node]) -> None:
        before = set(DbChangeSubscription.objects.filter(flow=flow).values_list("table", flat=True))
        DbChangeSubscription.objects.filter(flow=flow).delete()
        for node in nodes:
            _install(node)
            DbChangeSubscription.objects.create(
                flow=flow,
                node_id=node.id,
                table=node.config["table"],
                operations=node.config.get("operations", OPERATIONS),
                columns=node.config.get("columns", []),
            )
        still_watched = set(DbChangeSubscription.objects.values_list("table", flat=True))
        for table in before - still_watched:
            _uninstall(table)

    def test_input(self, node: Node, sample: Any, *, flow: Flow) -> Any:
        """The change the sample states, on the node's table, with changed_columns
        worked out as for a live change; refused when a live change like it would not
        start this trigger (another operation, or none of the watched columns changed)."""
        given = sample_fields(sample, CHANGE_KEYS, CHANGE_SHAPE)
        operations = node.config.get("operations", OPERATIONS)
        operation = given.get("operation") or operations[0]
        if operation not in operations:
            raise SampleRefused(
                f"This trigger starts on {', '.join(operations)}; a live {operation} starts no run."
            )
        payload = change_payload(
            table=node.config["table"],
            operation=operation,
            new=_row(given, "new", present=operation != "delete"),
            old=_row(given, "old", present=operation != "insert"),
            changed_at=sample_time(given.get("changed_at"), "changed_at"),
        )
        columns = node.config.get("columns", [])
        if not change_wanted(operations, columns, operation, payload["changed_columns"]):
            raise SampleRefused(
                f"None of the watched columns ({', '.join(columns)}) changed: a live update "
                "like this starts no run."
            )
        return payload


KIND = DatabaseChangeTrigger()


def _row(sample: dict[str, Any], side: str, *, present: bool) -> dict[str, Any] | None:
    row = sample.get(side)
    if not present:
        if row is not None:
            operation = sample.get("operation")
            raise SampleRefused(f"A live {operation} has no {side} row; set {side} to null.")
        return None
    if row is None:
        return {}
    if not isinstance(row, dict):
        raise SampleRefused(f"{side} is the row as an object of column values.")
    return row


def change_payload(
    *, table: str, operation: str, new: Any, old: Any, changed_at: str
) -> dict[str, Any]:
    """What a row change delivers as event.trigger."""
    return {
        "table": table,
        "operation": operation,
        "new": new,
        "old": old,
        "changed_columns": changed_columns(old, new),
        "changed_at": changed_at,
    }


def changed_columns(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    old, new = old or {}, new or {}
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def change_wanted(
    operations: Sequence[str], columns: Sequence[str], operation: str, changed: Sequence[str]
) -> bool:
    """Whether a trigger on these operations and columns starts on the change."""
    if operation not in operations:
        return False
    return not (operation == "update" and columns and not (set(columns) & set(changed)))


def _quoted(table: str) -> str:
    schema, name = table.split(".", 1)  # both matched IDENTIFIER: no quotes inside
    return f'"{schema}"."{name}"'


def _install(node: Node) -> None:
    """Install the capture trigger on the node's table; raises GraphInvalid naming the
    node when the table is missing or is one that must not be watched (checked again here,
    on what PostgreSQL resolves the name to: a graph validated before a setting changed, or
    one activated without validation, must not get through)."""
    table = node.config["table"]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            problem = install_refusal(cursor, _quoted(table))
            if problem:
                raise GraphInvalid([Problem(problem, node=node.id, field="config.table")])
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {TRIGGER_NAME} AFTER INSERT OR UPDATE OR DELETE "
                f"ON {_quoted(table)} FOR EACH ROW EXECUTE FUNCTION tributary_capture_change()"
            )
    except DatabaseError as exc:
        raise GraphInvalid(
            [
                Problem(
                    f"Cannot watch {table}: {str(exc).splitlines()[0]}",
                    node=node.id,
                    field="config.table",
                )
            ]
        ) from None


def _uninstall(table: str) -> None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {_quoted(table)}")
    except DatabaseError:
        logger.warning("Could not remove the change trigger from %s", table, exc_info=True)
