"""Named connections to third-party services (databases and message brokers) of a
workspace. The password is encrypted at rest with TRIBUTARY_SECRETS_KEY, like secrets,
and is never returned by the API nor written to runs (see runtime/resources/connections/)."""

from __future__ import annotations

from django.db import models

from designer.models import Workspace
from runtime.models.base import WorkspaceNamed


class ConnectionKind(models.TextChoices):
    POSTGRES = "postgres", "PostgreSQL"
    MYSQL = "mysql", "MySQL / MariaDB"
    AMQP = "amqp", "AMQP (RabbitMQ)"
    REDIS = "redis", "Redis"
    NATS = "nats", "NATS"
    MQTT = "mqtt", "MQTT"


DATABASE_KINDS = (ConnectionKind.POSTGRES, ConnectionKind.MYSQL)
BROKER_KINDS = (ConnectionKind.AMQP, ConnectionKind.REDIS, ConnectionKind.NATS, ConnectionKind.MQTT)
DEFAULT_PORTS = {
    ConnectionKind.POSTGRES: 5432,
    ConnectionKind.MYSQL: 3306,
    ConnectionKind.AMQP: 5672,
    ConnectionKind.REDIS: 6379,
    ConnectionKind.NATS: 4222,
    ConnectionKind.MQTT: 1883,
}


class Connection(WorkspaceNamed):
    """How to reach one service. Step and trigger configs name it (``connection``);
    editors see its name and kind, only admins its settings, nobody its password."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    kind = models.CharField(max_length=10, choices=ConnectionKind.choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(null=True, blank=True)  # the kind's default when empty
    # The database (postgres, mysql), virtual host (amqp) or database number (redis).
    database = models.CharField(max_length=255, blank=True)
    username = models.CharField(max_length=255, blank=True)
    ciphertext = models.TextField(blank=True)  # the password, encrypted; empty: none
    tls = models.BooleanField(default=False)
    # Databases only: without it every query runs in a read-only transaction.
    allow_writes = models.BooleanField(default=False)

    class Meta(WorkspaceNamed.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.workspace})"

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[ConnectionKind(self.kind)]
