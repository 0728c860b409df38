"""Concurrency limits: a flow whose version caps its live runs (``settings.concurrency``)
starts each run as *queued*; a run is admitted (moved to pending, its first steps queued)
when fewer than its limit of the flow's runs with the same key are live.

Slots are never stored: they are counted from run statuses, under a lock per (flow, key)
— a PostgreSQL transaction-level advisory lock — that every admission takes. A start
takes it after inserting its run, a finishing run after leaving the live statuses, and
each counts only once it holds the lock, so whichever commits second sees the other and
no slot is filled twice or left empty. A worker that dies mid-run frees nothing until
recovery hands its step to another worker and the run finishes: its slot is held by a
run that is still live, not by a counter that could leak. The scheduler's sweep
(``recovery.admit_queued_runs``) admits anything a crash between commit and admit missed.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from runtime.engine.status import RUN_ACTIVE, RunStatus
from runtime.models import Run

MAX_KEY_LENGTH = Run._meta.get_field("concurrency_key").max_length or 200


def admit(flow_id: int, key: str) -> list[int]:
    """Admit the oldest queued runs of ``(flow, key)`` while slots are free; returns the
    ids moved to pending, oldest first, for the caller to start in the same transaction.

    Call inside a transaction: the key's lock is held until it ends. Queued runs locked by
    someone else (being cancelled) are skipped, so this never waits on a run row.
    """
    _lock_key(flow_id, key)
    group = Run.objects.filter(
        flow_id=flow_id, concurrency_key=key, concurrency_limit__isnull=False
    )
    active = group.filter(status__in=RUN_ACTIVE).count()
    admitted: list[int] = []
    while True:
        oldest = _oldest_queued(group)
        if oldest is None:
            return admitted
        run_id, limit = oldest
        # In order: a run the limit holds back also holds back every newer one.
        if active >= limit:
            return admitted
        if not Run.objects.filter(pk=run_id).transition(RunStatus.PENDING):
            return admitted  # cannot happen while we hold its row lock; never spin
        admitted.append(run_id)
        active += 1


def _oldest_queued(group: QuerySet[Run]) -> tuple[int, int] | None:
    queued = group.filter(status=RunStatus.QUEUED).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        queued = queued.select_for_update(skip_locked=True)
    row = queued.values_list("pk", "concurrency_limit").first()
    if row is None:
        return None
    run_id, limit = row
    assert limit is not None  # the group holds limited runs only
    return run_id, limit


def _lock_key(flow_id: int, key: str) -> None:
    """Serialize admissions of one (flow, key) until the transaction ends. SQLite (the
    embedded default) serializes every writer anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"tributary.concurrency:{flow_id}:{key}"],
        )
