"""trigger.dbchange: start on inserts, updates or deletes in a PostgreSQL table.

Activating one installs a row trigger on the table (migration 0003's capture function),
which writes each change to the outbox table in the changing transaction and NOTIFYs the
listener. The listener (in `manage.py scheduler`) turns outbox rows into runs and deletes
them in one transaction: a change made while it was down waits in the outbox. Works for
tables Tributary did not create, in Tributary's own database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction

from designer.graph import Graph, GraphInvalid, Node, Problem
from designer.models import Flow
from runtime.kinds import StartRun, TriggerKind
from runtime.models import DbChange, DbChangeSubscription

logger = logging.getLogger(__name__)
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
TRIGGER_NAME = "tributary_capture"
CHANNEL = "tributary_dbchange"


class DatabaseChangeTrigger(TriggerKind):
    type = "trigger.dbchange"
    label = "Database change"
    description = "Start the flow when rows change in a PostgreSQL table."
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
    table = node.config["table"]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
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


def drain_outbox(start: StartRun, *, batch: int = 200) -> int:
    """Turn outbox rows into runs (``start`` is runtime.services.run_start); returns how
    many runs started. Each change is deleted in the transaction that starts its runs."""
    started = 0
    while True:
        with transaction.atomic():
            rows = DbChange.objects.order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            changes = list(rows[:batch])
            for change in changes:
                started += _dispatch(change, start)
            DbChange.objects.filter(pk__in=[c.pk for c in changes]).delete()
        if len(changes) < batch:
            return started


def _dispatch(change: DbChange, start: StartRun) -> int:
    subscriptions = DbChangeSubscription.objects.filter(
        table=change.table,
        flow__archived_at__isnull=True,
        flow__live_version__isnull=False,
    ).select_related("flow__live_version")
    changed = _changed_columns(change)
    payload = {
        "table": change.table,
        "operation": change.operation,
        "new": change.new,
        "old": change.old,
        "changed_columns": changed,
        "changed_at": change.changed_at.isoformat(),
    }
    started = 0
    for subscription in subscriptions:
        if change.operation not in subscription.operations:
            continue
        if (
            change.operation == "update"
            and subscription.columns
            and not (set(subscription.columns) & set(changed))
        ):
            continue
        try:
            with transaction.atomic():
                start(
                    flow=subscription.flow,
                    version=subscription.flow.live_version,
                    trigger_node=subscription.node_id,
                    trigger_kind="dbchange",
                    origin=f"{change.operation} on {change.table}",
                    payload=payload,
                )
            started += 1
        except Exception:  # one unstartable change must not block the outbox behind it
            logger.exception(
                "Change %s on %s could not start %s", change.pk, change.table, subscription.flow
            )
    return started


def _changed_columns(change: DbChange) -> list[str]:
    old: dict[str, Any] = change.old or {}
    new: dict[str, Any] = change.new or {}
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def listen(wake: threading.Event, stop: threading.Event) -> None:
    """Block on LISTEN and set ``wake`` on every change notification, so the scheduler
    drains the outbox at once instead of at its next pass. Reconnects after errors."""
    while not stop.is_set():
        try:
            connection.ensure_connection()
            raw = connection.connection
            raw.execute(f"LISTEN {CHANNEL}")
            while not stop.is_set():
                for _ in raw.notifies(timeout=1.0, stop_after=1):
                    wake.set()
        except Exception:
            logger.warning("Change listener lost its connection; reconnecting", exc_info=True)
            connection.close()
            stop.wait(1.0)
    connection.close()
