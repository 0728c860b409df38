"""Queue triggers: the active consumers of live versions, and the messages they could not
turn into runs (dead letters). Subscriptions are (re)written when a flow is published,
rolled back, archived or restored (runtime.triggers.queue), in that transaction; the
consumer process (runtime.triggers.queue) follows them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from designer.models import Flow
from runtime.models.connections import Connection


class QueueSubscription(models.Model):
    """An active trigger.queue node. ``revision`` grows whenever what it consumes changes
    (its config, or its connection's settings): a consumer started for an older revision
    stops, and a message it holds is handed back to the broker rather than run."""

    class State(models.TextChoices):
        STARTING = "starting", "Starting"
        CONSUMING = "consuming", "Consuming"
        RETRYING = "retrying", "Retrying after an error"
        STANDBY = "standby", "Standby (another process consumes)"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="queue_subscriptions")
    node_id = models.CharField(max_length=64)
    # PROTECT: a connection an active trigger consumes through cannot vanish under it.
    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="+")
    config = models.JSONField(default=dict)
    revision = models.PositiveIntegerField(default=1)
    activated_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.STARTING)
    last_error = models.CharField(max_length=1000, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    consumer = models.CharField(max_length=200, blank=True)  # host:pid consuming it

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "node_id"], name="queue_unique_node")
        ]

    def __str__(self) -> str:
        return f"{self.config.get('source', '?')} → flow {self.flow_id}"


class QueueDeadLetter(models.Model):
    """A message a queue trigger received but could not start a run with (not JSON, too
    large, refused as input...). It was acknowledged, so the broker will not resend it:
    this row is its only copy."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="dead_letters")
    node_id = models.CharField(max_length=64)
    connection_name = models.CharField(max_length=100)
    source = models.CharField(max_length=500)
    message_id = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    body = models.TextField(blank=True)  # as received (decoded as UTF-8), cut at the limit
    body_size = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A redelivered copy of a message already dead-lettered adds nothing.
            models.UniqueConstraint(
                fields=["flow", "node_id", "message_id"],
                name="deadletter_unique_message",
                condition=~Q(message_id=""),
            )
        ]
        indexes = [models.Index(fields=["flow", "-id"], name="deadletter_flow_id")]

    def __str__(self) -> str:
        return f"Dead letter from {self.source} for flow {self.flow_id}"
