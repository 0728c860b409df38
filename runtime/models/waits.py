"""What a paused step waits for from outside the engine — a person's decision, a call to
its resume URL, a platform event — and the platform events kept for the waits that have
not started yet (runtime.engine.waits)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from designer.models import Workspace
from runtime.models.runs import Run, StepRun


class Suspension(models.Model):
    """One paused step. The step's row stays ``waiting`` (``wake_at`` is its timeout);
    resolving this row, once, under the run's lock, queues the step again, and the step's
    kind reads ``resolution`` as what arrived."""

    class Kind(models.TextChoices):
        APPROVAL = "approval", "Approval"
        EVENT = "event", "Event or resume URL"

    step = models.OneToOneField(StepRun, on_delete=models.CASCADE, related_name="suspension")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A wait for a platform event: its type, and the field of its payload that must equal
    # ``match_value`` (rendered from the run's event when the step paused); "" = any.
    event_type = models.CharField(max_length=200, blank=True)
    match_path = models.CharField(max_length=200, blank=True)
    match_value = models.CharField(max_length=500, blank=True)
    # What the kind shows while waiting (an approval's message, approvers and form).
    details = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "event_type"],
                name="suspension_open_event",
                condition=models.Q(resolved_at__isnull=True, kind="event"),
            ),
            models.Index(
                fields=["workspace", "-id"],
                name="suspension_open_approval",
                condition=models.Q(resolved_at__isnull=True, kind="approval"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} wait of step #{self.step_id}"


class PlatformEvent(models.Model):
    """An emitted platform event, kept for TRIBUTARY_EVENT_WINDOW_SECONDS so that a run
    reaching its wait a little after the event still receives it. ``workspace`` is None for
    an event emitted platform-wide."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, null=True, related_name="+")
    event_type = models.CharField(max_length=200)
    payload = models.JSONField()  # what event.trigger is for a flow it starts
    emitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["event_type", "emitted_at"], name="platformevent_type")]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.emitted_at:%Y-%m-%d %H:%M:%S}"
