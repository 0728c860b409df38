"""What makes the live version's triggers fire: webhook endpoints, cron schedules, event
subscriptions and database-change subscriptions. Rows are (re)written when a flow is
published, rolled back, archived or restored (runtime.triggers.activation), in the same
transaction, so the swap is atomic."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from designer.models import Flow


def new_token() -> str:
    return secrets.token_urlsafe(24)


class WebhookEndpoint(models.Model):
    """The URL /hooks/<token> of one webhook node. It survives new versions as long as the
    node keeps its id; rotating replaces the token."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="webhooks")
    node_id = models.CharField(max_length=64)
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Why the last request was refused for a configuration reason (e.g. a missing signing
    # secret): shown to editors, never to the caller.
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "node_id"], name="webhook_unique_node")
        ]

    def __str__(self) -> str:
        return f"{self.flow} / {self.node_id}"


class WebhookCapture(models.Model):
    """Listening for a test event: the next request to the endpoint is kept as sample data
    instead of starting a run."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="captures")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    captured_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Capture for {self.endpoint_id} ({'captured' if self.captured_at else 'waiting'})"


class CronSchedule(models.Model):
    """An active cron trigger and the next time it fires."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="cron_schedules")
    node_id = models.CharField(max_length=64)
    expression = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, blank=True)
    catch_up = models.CharField(max_length=10, default="skip")
    next_fire_at = models.DateTimeField(null=True, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "node_id"], name="cron_unique_node")]

    def __str__(self) -> str:
        return f"{self.flow} / {self.node_id}: {self.expression}"


class CronFire(models.Model):
    """One firing of a schedule. Unique per schedule and time: two schedulers racing for
    the same 02:00 both try to insert it, and only one can."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="+")
    node_id = models.CharField(max_length=64)
    scheduled_for = models.DateTimeField()
    fired_at = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(
        "runtime.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "node_id", "scheduled_for"], name="cronfire_unique_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.node_id} of flow {self.flow_id} at {self.scheduled_for:%Y-%m-%d %H:%M}"


class EventSubscription(models.Model):
    """An active platform-event trigger: ``pattern`` is a type (order.created), a prefix
    wildcard (order.*) or *."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="event_subscriptions")
    node_id = models.CharField(max_length=64)
    pattern = models.CharField(max_length=200, db_index=True)
    condition = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "node_id"], name="event_unique_node")
        ]

    def __str__(self) -> str:
        return f"{self.pattern} → flow {self.flow_id}"


class DbChangeSubscription(models.Model):
    """An active database-change trigger on ``table`` (schema.table)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="dbchange_subscriptions")
    node_id = models.CharField(max_length=64)
    table = models.CharField(max_length=130, db_index=True)
    operations = models.JSONField(default=list)
    columns = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "node_id"], name="dbchange_unique_node")
        ]

    def __str__(self) -> str:
        return f"{self.table} → flow {self.flow_id}"


class DbChange(models.Model):
    """The outbox: a row per change, written by the trigger Tributary installs on a watched
    table in the same transaction as the change. The listener turns rows into runs and
    deletes them, so a change made while it was down is not lost."""

    table = models.CharField(max_length=130)
    operation = models.CharField(max_length=10)
    old = models.JSONField(null=True)
    new = models.JSONField(null=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tributary_dbchange"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.operation} on {self.table}"
