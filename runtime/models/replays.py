"""Replays and flow tests: past runs' trigger input replayed against any saved version, side
effects simulated from what the original run recorded (runtime/replay/)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from designer.models import Flow, FlowVersion


class ReplayBatch(models.Model):
    """Runs replayed together against one version: a user's selection, or a flow's tests
    after a save. Each replay is a Run whose ``replay`` spec says what it stands in for."""

    class Purpose(models.TextChoices):
        REPLAY = "replay", "Replay"
        TESTS = "tests", "Flow tests"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="replay_batches")
    version = models.ForeignKey(FlowVersion, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.REPLAY)
    # Nodes whose effects are performed for real in these replays (chosen explicitly).
    perform = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["version", "purpose", "-id"], name="replaybatch_version")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} #{self.pk} of {self.flow_id} v{self.version_id}"


class FlowTest(models.Model):
    """A run kept as a test case of its flow: its trigger input, what each step recorded
    (the simulated effects replay it), and expectations on chosen nodes."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="tests")
    name = models.CharField(max_length=200)
    trigger_node = models.CharField(max_length=64)
    input = models.JSONField(default=dict, blank=True)
    # {node_id: {"status", "output", "input", "handle", "error"}} of the run it came from.
    recorded = models.JSONField(default=dict, blank=True)
    # [{"node", "check": "equals"|"subset"|"status", "value", "ignore": [paths]}]
    expectations = models.JSONField(default=list)
    source_run = models.ForeignKey(
        "runtime.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["flow", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "name"], name="flowtest_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.flow_id})"
