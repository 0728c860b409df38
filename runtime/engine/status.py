"""Run and step statuses, and the one place that knows their legal transitions.

Every status change is a conditional UPDATE filtered by the statuses it may come from —
through the ORM (``StepRun.objects.filter(...).transition(...)``) or the hot path's plain
SQL (``runtime.engine.sql``), both reading the tables below — so a duplicate delivery or
a late worker finds "0 rows" and backs off instead of overwriting newer state.
"""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    # Waiting for a slot of its flow's concurrency limit (runtime.engine.concurrency); its
    # steps cannot be claimed until it is admitted (moved to pending).
    QUEUED = "queued", "Queued"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its parents
    QUEUED = "queued", "Queued"  # ready; a task message is on its way to a worker
    RUNNING = "running", "Running"  # claimed by a worker holding a lease
    WAITING = "waiting", "Waiting"  # a delay or a retry backoff, until wake_at
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"  # on a branch not taken, or an unfired trigger
    CANCELLED = "cancelled", "Cancelled"  # the run was cancelled or failed before it ran


RUN_FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
# Runs whose steps may still be claimed, woken or handed to another worker.
RUN_LIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
# Runs that hold a slot of their flow's concurrency limit: the live ones. Slots are counted
# from these statuses, never kept as counters, so a crashed worker cannot leak one.
RUN_ACTIVE = RUN_LIVE

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # Admitted, or cancelled while it waited.
    RunStatus.QUEUED: frozenset({RunStatus.PENDING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, *RUN_FINISHED}),
    RunStatus.RUNNING: RUN_FINISHED,
    **{finished: frozenset() for finished in RUN_FINISHED},
}
STEP_FINISHED = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)
# Statuses in which a step still has work ahead of it.
STEP_OPEN = frozenset(set(StepStatus) - STEP_FINISHED)

STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset(
        {StepStatus.QUEUED, StepStatus.SKIPPED, StepStatus.CANCELLED, StepStatus.SUCCEEDED}
    ),
    StepStatus.QUEUED: frozenset({StepStatus.RUNNING, StepStatus.CANCELLED}),
    StepStatus.RUNNING: frozenset(
        {
            StepStatus.SUCCEEDED,
            StepStatus.FAILED,
            StepStatus.WAITING,
            StepStatus.QUEUED,  # its worker died (lease expired): hand it to another
            StepStatus.RUNNING,  # taken over after an expired lease
            StepStatus.CANCELLED,
        }
    ),
    StepStatus.WAITING: frozenset({StepStatus.RUNNING, StepStatus.QUEUED, StepStatus.CANCELLED}),
}
for _finished in STEP_FINISHED:
    STEP_TRANSITIONS[_finished] = frozenset()
# Retrying a finished run resets its unfinished part in a new run, never in place.


def step_sources(target: StepStatus) -> list[str]:
    """The statuses a step may move to ``target`` from."""
    return [source for source, targets in STEP_TRANSITIONS.items() if target in targets]


def run_sources(target: RunStatus) -> list[str]:
    """The statuses a run may move to ``target`` from."""
    return [source for source, targets in RUN_TRANSITIONS.items() if target in targets]


# When a worker may claim a step (move it to running) from each status that leads there:
# a queued one always, a waiting one once its wake_at is due, a running one only when its
# lease expired (its worker is gone).
CLAIM_CONDITIONS: dict[StepStatus, str] = {
    StepStatus.QUEUED: "always",
    StepStatus.WAITING: "due",
    StepStatus.RUNNING: "lease_expired",
}
assert set(CLAIM_CONDITIONS) == set(step_sources(StepStatus.RUNNING)), "claim ≠ transitions"
