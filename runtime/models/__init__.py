"""The runtime's models, one module per subject."""

from runtime.models.runs import Run, StepRun
from runtime.models.secrets import Secret
from runtime.models.triggers import (
    CronFire,
    CronSchedule,
    DbChange,
    DbChangeSubscription,
    EventSubscription,
    WebhookCapture,
    WebhookEndpoint,
)

__all__ = [
    "CronFire",
    "CronSchedule",
    "DbChange",
    "DbChangeSubscription",
    "EventSubscription",
    "Run",
    "Secret",
    "StepRun",
    "WebhookCapture",
    "WebhookEndpoint",
]
