"""Runs and step runs. Postgres holds the truth about every run; the broker only carries
doorbells (step ids)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from designer.models import Flow, FlowVersion
from runtime.engine.status import RunStatus, StepStatus, run_sources, step_sources


class RunQuerySet(models.QuerySet["Run"]):
    def transition(self, to: RunStatus, **fields: Any) -> int:
        """Move the matching runs to ``to`` from any status that may lead there, as one
        conditional UPDATE. Returns how many moved: a finished run never moves again."""
        return self.filter(status__in=run_sources(to)).update(status=to, **fields)


class Run(models.Model):
    """One execution of a flow, pinned to the version it started on."""

    flow = models.ForeignKey(Flow, on_delete=models.PROTECT, related_name="runs")
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    # What started it: the trigger kind (webhook, cron, event, dbchange, manual...) and the
    # trigger node whose output the input is.
    trigger_kind = models.CharField(max_length=20)
    trigger_node = models.CharField(max_length=64)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    origin = models.CharField(max_length=200, blank=True)  # e.g. "API", "re-run of #12"
    is_test = models.BooleanField(default=False)  # a designer test run
    rerun_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns"
    )
    # A webhook's idempotency header value: a repeated delivery returns this run.
    idempotency_key = models.CharField(max_length=200, blank=True)
    # Set when any of its steps is (runtime.kinds.taint): its output and error are then
    # shown to viewers only as "hidden: uses secrets".
    uses_secrets = models.BooleanField(default=False, db_default=False)
    # Copied from its version's concurrency setting when it starts (None: no limit), with
    # the rendered key template ("" without one): runs of the flow with the same key share
    # the limit (runtime.engine.concurrency).
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    concurrency_key = models.CharField(max_length=200, blank=True, default="", db_default="")
    # A child run (runtime.engine.children): the step that started it and waits for it (or
    # fired and forgot it). SET_NULL, not CASCADE: a child of another flow is an ordinary
    # run of the callee, and pruning the caller's history must not delete the callee's.
    parent_step = models.ForeignKey(
        "runtime.StepRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    # The parent step's failure count when it asked for this child: a retry asks again and
    # must see only the children of its own round (runtime.engine.children).
    parent_round = models.PositiveSmallIntegerField(default=0, db_default=0)
    item_index = models.PositiveIntegerField(null=True, blank=True)  # for-each: which item
    scope = models.CharField(max_length=64, blank=True, default="", db_default="")
    depth = models.PositiveSmallIntegerField(default=0, db_default=0)  # 0: not a child
    # The W3C traceparent its steps' spans hang under (runtime.tracing): the run's span,
    # itself a child of a webhook caller's span when one was sent. Empty with tracing off.
    trace_parent = models.CharField(max_length=55, blank=True, default="", db_default="")
    # A replay (runtime.replay): {"of": run id or None, "test": test id or None,
    # "recorded": {node: what the original step recorded}, "perform": [nodes acting for
    # real]}. Its effects are simulated from "recorded"; None for every other run.
    replay = models.JSONField(null=True, blank=True)
    replay_batch = models.ForeignKey(
        "runtime.ReplayBatch",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="runs",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        # Newest first by id: ids grow with time, and keyset pages on them never count.
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "trigger_node", "idempotency_key"],
                name="run_idempotency",
                condition=~Q(idempotency_key=""),
            ),
            # A for-each asks for item i once per round, whatever the redeliveries.
            models.UniqueConstraint(
                fields=["parent_step", "parent_round", "item_index"],
                name="run_child_item",
                condition=Q(item_index__isnull=False),
            ),
        ]
        # One per list filter, each ending in id so "newest first, older than X" is a range
        # scan. Full-text search has a GIN index of its own (migration 0005, PostgreSQL).
        indexes = [
            models.Index(fields=["flow", "-id"], name="run_flow_id"),
            models.Index(fields=["status", "-id"], name="run_status_id"),
            models.Index(fields=["trigger_kind", "-id"], name="run_kind_id"),
            models.Index(fields=["version", "-id"], name="run_version_id"),
            models.Index(fields=["created_at"], name="run_created_at"),
            # Admission counts a key's live runs and finds its oldest queued one.
            models.Index(
                fields=["flow", "concurrency_key", "id"],
                name="run_concurrency",
                condition=Q(
                    concurrency_limit__isnull=False,
                    status__in=[RunStatus.QUEUED, RunStatus.PENDING, RunStatus.RUNNING],
                ),
            ),
            # A step's children in item order (what the step reads when it wakes).
            models.Index(
                fields=["parent_step", "parent_round", "item_index", "id"],
                name="run_children",
                condition=Q(parent_step__isnull=False),
            ),
            # A finishing child counts its open siblings: only the open ones are indexed,
            # so that costs the window's size, not the number of items.
            models.Index(
                fields=["parent_step"],
                name="run_open_children",
                condition=Q(
                    parent_step__isnull=False,
                    status__in=[RunStatus.QUEUED, RunStatus.PENDING, RunStatus.RUNNING],
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} of {self.flow_id} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class StepRunQuerySet(models.QuerySet["StepRun"]):
    def transition(self, to: StepStatus, **fields: Any) -> int:
        """Move the matching steps to ``to`` from any status that may lead there, as one
        conditional UPDATE. Returns how many moved; 0 means someone else got there first."""
        return self.filter(status__in=step_sources(to)).update(status=to, **fields)


class StepRun(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    node_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempt = models.PositiveIntegerField(default=0)  # how many times it was claimed
    failures = models.PositiveIntegerField(default=0)  # attempts that failed (retry policy)
    lost = models.PositiveIntegerField(default=0)  # attempts whose worker vanished
    # Copied from the node's settings when the run starts (the graph is immutable anyway),
    # so recovery can act on a row without parsing the graph.
    timeout_seconds = models.FloatField(default=60)
    # The Celery queue its tasks go to (runtime.engine.queues), resolved when the run starts.
    queue = models.CharField(max_length=40, default="io", db_default="io")
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    handle = models.CharField(max_length=20, blank=True)  # the branch output taken
    logs = models.TextField(blank=True)
    error = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)  # traceback, response excerpt...
    reused = models.BooleanField(default=False)  # output carried over by a retry
    # Read a secret, or an upstream output that did (runtime.kinds.taint): what it stored
    # is shown to viewers only as "hidden: uses secrets".
    uses_secrets = models.BooleanField(default=False, db_default=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A delay or a retry backoff ends at wake_at; the scheduler queues it then.
    wake_at = models.DateTimeField(null=True, blank=True)
    # A running step belongs to the worker holding ``claim`` until the lease expires; the
    # worker renews it with heartbeats, so an expired lease means the worker is gone.
    claim = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # A for-each's items in its current round (runtime.engine.items): how many there are,
    # how many item runs were started (always the first ones, in order), and how many
    # finished, of which failed. None for other steps.
    items_total = models.PositiveIntegerField(null=True, blank=True)
    items_started = models.PositiveIntegerField(default=0, db_default=0)
    items_done = models.PositiveIntegerField(default=0, db_default=0)
    items_failed = models.PositiveIntegerField(default=0, db_default=0)

    objects = StepRunQuerySet.as_manager()

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id"], name="steprun_unique_node")
        ]
        indexes = [
            models.Index(
                fields=["wake_at"], name="steprun_waiting", condition=Q(status=StepStatus.WAITING)
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="steprun_running",
                condition=Q(status=StepStatus.RUNNING),
            ),
            models.Index(
                fields=["queued_at"], name="steprun_queued", condition=Q(status=StepStatus.QUEUED)
            ),
            models.Index(
                fields=["run"], name="steprun_pending", condition=Q(status=StepStatus.PENDING)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} of run #{self.run_id} ({self.status})"

    @property
    def queue_wait_seconds(self) -> float | None:
        """How long its last message waited for a worker of its queue."""
        if self.queued_at and self.started_at and self.started_at >= self.queued_at:
            return (self.started_at - self.queued_at).total_seconds()
        return None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
