"""Database changes into runs: the outbox the capture triggers write to, drained by the
scheduler, and the listener that wakes it on every NOTIFY.

A change that cannot start a run (say, a row over the input size limit) stays in the
outbox, is logged at ERROR on every attempt and is tried again after a growing pause; each
run it starts carries the change's id as idempotency key, so a retry starts only the runs
that failed, once per flow.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connection, transaction

from runtime.models import DbChange, DbChangeSubscription, Run
from runtime.runs import run_start
from runtime.triggers.dbchange.kind import CHANNEL, change_payload, change_wanted
from runtime.triggers.dbchange.tables import refusal

logger = logging.getLogger(__name__)
# Seconds before a change that could not start its runs is tried again; doubles per
# failure up to RETRY_MAX, so a row that can never start (too big) costs one log line an hour.
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0


def drain_outbox(*, batch: int = 200) -> int:
    """Turn outbox rows into runs; returns how many runs started. A change is deleted in
    the transaction that starts its runs once every run it should start exists; otherwise
    it stays, and this process leaves it alone until its retry time (other schedulers keep
    their own; the idempotency key makes their retries harmless). Rows are locked with
    SKIP LOCKED: two schedulers never handle the same change at once."""
    started = 0
    while True:
        with transaction.atomic():
            rows = DbChange.objects.exclude(pk__in=_parked_ids()).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            changes = list(rows[:batch])
            done = []
            for change in changes:
                count, errors = _dispatch(change)
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


def _dispatch(change: DbChange) -> tuple[int, list[str]]:
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
    payload = change_payload(
        table=change.table,
        operation=change.operation,
        new=change.new,
        old=change.old,
        changed_at=change.changed_at.isoformat(),
    )
    key = f"dbchange:{change.pk}@{change.changed_at.isoformat()}"
    started, errors = 0, []
    for subscription in subscriptions:
        if not change_wanted(
            subscription.operations,
            subscription.columns,
            change.operation,
            payload["changed_columns"],
        ):
            continue
        flow = subscription.flow
        version = flow.live_version
        if version is None:  # unpublished since the query above
            continue
        if Run.objects.filter(
            flow=flow, trigger_node=subscription.node_id, idempotency_key=key
        ).exists():
            continue  # started by an earlier attempt at this change
        try:
            with transaction.atomic():
                run_start(
                    flow=flow,
                    version=version,
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
