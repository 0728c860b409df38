"""Connections to the real services on this machine, and names no other test uses."""

from __future__ import annotations

import uuid
from typing import Any

from designer.models import Workspace
from runtime.models import Connection
from runtime.resources.connections.services import connection_create
from tests.conftest import Team

# Redis database numbers set aside for these tests (the Celery broker uses REDIS_DB).
REDIS_TEST_DB = "5"

SERVICES: dict[str, dict[str, Any]] = {
    "postgres": {"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": "postgres"},
    "mysql": {"host": "127.0.0.1", "port": 3306, "username": "root", "database": "test"},
    "amqp": {"host": "127.0.0.1", "port": 5672, "username": "guest", "password": "guest"},
    "redis": {"host": "127.0.0.1", "port": 6379, "database": REDIS_TEST_DB},
    "nats": {"host": "127.0.0.1", "port": 4222},
    "mqtt": {"host": "127.0.0.1", "port": 1883},
}


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def connect(
    team: Team, kind: str, name: str | None = None, workspace: Workspace | None = None, **extra: Any
) -> Connection:
    """A saved connection of ``kind`` to the local service."""
    return connection_create(
        workspace=workspace or team.workspace,
        user=team.admin,
        data={"name": name or kind, "kind": kind, **SERVICES[kind], **extra},
    )
