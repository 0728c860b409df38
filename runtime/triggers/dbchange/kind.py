"""trigger.dbchange: start on inserts, updates or deletes in a PostgreSQL table.

Activating one installs a row trigger on the table (migration 0003's capture function),
which writes each change to the outbox table in the changing transaction and NOTIFYs the
listener. The listener (in `manage.py scheduler`) turns outbox rows into runs and deletes
them in one transaction: a change made while it was down waits in the outbox. Works for
tables Tributary did not create, in Tributary's own database; never for Tributary's or
Django's own tables (see dbchange_tables).

A change that cannot start a run (say, a row over the input size limit) stays in the
outbox, is logged at ERROR on every attempt and is tried again after a growing pause; each
run it starts carries the change's id as idempotency key, so a retry starts only the runs
that failed, once per flow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction

from designer.graph import Graph, GraphInvalid, Node, Problem
from designer.models import Flow
from runtime.kinds import StartRun, TriggerKind
from runtime.models import DbChange, DbChangeSubscription, Run
from runtime.triggers.dbchange_tables import install_refusal, refusal

logger = logging.getLogger(__name__)
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
TRIGGER_NAME = "tributary_capture"
CHANNEL = "tributary_dbchange"
# Seconds before a change that could not start its runs is tried again; doubles per
# failure up to RETRY_MAX, so a row that can never start (too big) costs one log line an hour.
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0


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


def drain_outbox(start: StartRun, *, batch: int = 200) -> int:
    """Turn outbox rows into runs (``start`` is runtime.services.run_start); returns how
    many runs started. A change is deleted in the transaction that starts its runs once
    every run it should start exists; otherwise it stays, and this process leaves it alone
    until its retry time (other schedulers keep their own; the idempotency key makes their
    retries harmless). Rows are locked with SKIP LOCKED: two schedulers never handle the
    same change at once."""
    started = 0
    while True:
        with transaction.atomic():
            rows = DbChange.objects.exclude(pk__in=_parked_ids()).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            changes = list(rows[:batch])
            done = []
            for change in changes:
                count, errors = _dispatch(change, start)
                started += count
                if errors:
                    _park(change, errors)
                else:
                    done.append(change.pk)
                    _parked.pop(change.pk, None)
            DbChange.objects.filter(pk__in=done).delete()
        if len(changes) < batch:
            return started


# Outbox id → (time.monotonic() of the next attempt, pause before it). Kept per process
# because the outbox has no column for it: the lasting record is the row itself, still in
# the outbox, and the ERROR log saying why.
_parked: dict[int, tuple[float, float]] = {}


def _parked_ids() -> list[int]:
    now = time.monotonic()
    for pk in [pk for pk, (retry_at, _) in _parked.items() if retry_at < now - 2 * RETRY_MAX]:
        del _parked[pk]  # long due and never seen again: the row is gone
    return [pk for pk, (retry_at, _) in _parked.items() if retry_at > now]


def _park(change: DbChange, errors: list[str]) -> None:
    pause = min(RETRY_MAX, 2 * _parked[change.pk][1]) if change.pk in _parked else RETRY_FIRST
    _parked[change.pk] = (time.monotonic() + pause, pause)
    logger.error(
        "Change %s (%s on %s) could not start every run; it stays in the outbox and is "
        "tried again in %d s: %s",
        change.pk,
        change.operation,
        change.table,
        pause,
        "; ".join(errors),
    )


def _dispatch(change: DbChange, start: StartRun) -> tuple[int, list[str]]:
    """Start the change's runs; returns (runs started, why others could not start)."""
    problem = refusal(change.table)
    if problem:
        # Installed before the table was refused (or the setting changed): its rows must
        # not reach any flow, so the change is dropped, loudly.
        logger.error("Change %s on %s ignored: %s", change.pk, change.table, problem)
        return 0, []
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
    key = f"dbchange:{change.pk}@{change.changed_at.isoformat()}"
    started, errors = 0, []
    for subscription in subscriptions:
        if not _wants(subscription, change, changed):
            continue
        flow = subscription.flow
        if Run.objects.filter(
            flow=flow, trigger_node=subscription.node_id, idempotency_key=key
        ).exists():
            continue  # started by an earlier attempt at this change
        try:
            with transaction.atomic():
                start(
                    flow=flow,
                    version=flow.live_version,
                    trigger_node=subscription.node_id,
                    trigger_kind="dbchange",
                    origin=f"{change.operation} on {change.table}",
                    payload=payload,
                    idempotency_key=key,
                )
            started += 1
        except Exception as exc:  # one unstartable change must not block the outbox behind it
            logger.debug("Change %s could not start %s", change.pk, flow, exc_info=True)
            errors.append(f"flow {flow.pk} ({flow.name}): {exc}")
    return started, errors


def _wants(subscription: DbChangeSubscription, change: DbChange, changed: list[str]) -> bool:
    if change.operation not in subscription.operations:
        return False
    return not (
        change.operation == "update"
        and subscription.columns
        and not (set(subscription.columns) & set(changed))
    )


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
