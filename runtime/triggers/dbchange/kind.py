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

from django.db import DatabaseError, connection, transaction

from designer.graph import Graph, GraphInvalid, Node, Problem
from designer.models import Flow
from runtime.kinds.contract import TriggerKind
from runtime.models import DbChangeSubscription
from runtime.triggers.dbchange.tables import install_refusal, refusal

logger = logging.getLogger(__name__)
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
TRIGGER_NAME = "tributary_capture"
CHANNEL = "tributary_dbchange"


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
                "items": {"enum": ["insert", "update", "delete"]},
                "default": ["insert", "update", "delete"],
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
                operations=node.config.get("operations", ["insert", "update", "delete"]),
                columns=node.config.get("columns", []),
            )
        still_watched = set(DbChangeSubscription.objects.values_list("table", flat=True))
        for table in before - still_watched:
            _uninstall(table)


KIND = DatabaseChangeTrigger()


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
