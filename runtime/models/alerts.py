"""When each flow last sent a failure alert: the quiet period is claimed on this row."""

from __future__ import annotations

from django.db import models

from designer.models import Flow


class FlowAlert(models.Model):
    """One row per flow that ever alerted. runtime.engine.alerts claims the right to send
    with a conditional UPDATE (or the INSERT of the first row), so two workers failing
    runs of the flow at once send one email."""

    flow = models.OneToOneField(
        Flow, on_delete=models.CASCADE, primary_key=True, related_name="alert_state"
    )
    last_sent_at = models.DateTimeField()
    # The run the last alert was about (SET_NULL: history pruning may delete it).
    last_run = models.ForeignKey(
        "runtime.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Alerts of flow {self.flow_id} (last {self.last_sent_at:%Y-%m-%d %H:%M})"
