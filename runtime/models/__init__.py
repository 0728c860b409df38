"""The runtime's models, one module per subject."""

from runtime.models.alerts import FlowAlert
from runtime.models.connections import Connection, ConnectionKind
from runtime.models.images import ContainerImage, ImageBlob, ImageBlobChunk
from runtime.models.queues import QueueDeadLetter, QueueSubscription
from runtime.models.replays import FlowTest, ReplayBatch
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
from runtime.models.waits import PlatformEvent, Suspension

__all__ = [
    "Connection",
    "ConnectionKind",
    "ContainerImage",
    "CronFire",
    "CronSchedule",
    "DbChange",
    "DbChangeSubscription",
    "EventSubscription",
    "FlowAlert",
    "FlowTest",
    "ImageBlob",
    "ImageBlobChunk",
    "PlatformEvent",
    "QueueDeadLetter",
    "QueueSubscription",
    "ReplayBatch",
    "Run",
    "Secret",
    "StepRun",
    "Suspension",
    "WebhookCapture",
    "WebhookEndpoint",
]
