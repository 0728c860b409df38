"""Writes of connections, and testing one. Callers have checked the user is an admin of
the workspace. Bad settings raise RunRefused naming the field (a 400 through the API)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from designer.models import Workspace
from runtime.models import Connection, ConnectionKind, QueueSubscription
from runtime.models.connections import DATABASE_KINDS
from runtime.resources.connections.clients.base import ConnectionFailed, first_line
from runtime.resources.connections.params import Params, params_of
from runtime.resources.connections.registry import tester
from runtime.resources.connections.schema import NAME_PATTERN
from runtime.resources.secrets import secret_encrypt
from runtime.runs import RunRefused

HOST = re.compile(r"^[A-Za-z0-9._:\[\]\-]{1,255}$")
FIELDS = (
    "name",
    "kind",
    "host",
    "port",
    "database",
    "username",
    "tls",
    "allow_writes",
    "description",
)


class ConnectionInUse(Exception):
    """Active queue triggers consume through the connection; the message names their flows."""


def connection_create(*, workspace: Workspace, user: User, data: Mapping[str, Any]) -> Connection:
    for field in ("name", "kind", "host"):
        if not data.get(field):
            raise RunRefused(f"A connection needs a {field}.", field=field)
    connection = Connection(workspace=workspace, created_by=user)
    return _save(connection, data)


def connection_update(*, connection: Connection, data: Mapping[str, Any]) -> Connection:
    """Change some settings (a missing ``password`` keeps the stored one, an empty one
    removes it). Active queue triggers on it restart with the new settings."""
    with transaction.atomic():
        connection = _save(connection, data)
        connection_touched(connection=connection)
    return connection


def connection_touched(*, connection: Connection) -> None:
    """The connection's settings changed: its queue consumers restart with them."""
    QueueSubscription.objects.filter(connection=connection).update(revision=F("revision") + 1)


def apply_password(connection: Connection, password: str) -> None:
    """Store ``password`` encrypted (empty: none); raises RunRefused without a key."""
    try:
        connection.ciphertext = secret_encrypt(password) if password else ""
    except ImproperlyConfigured as exc:
        raise RunRefused(str(exc), field="password") from None


def connection_delete(*, connection: Connection) -> None:
    try:
        connection.delete()
    except ProtectedError as exc:
        flows = sorted({str(getattr(row, "flow", row)) for row in exc.protected_objects})
        raise ConnectionInUse(
            f"Queue triggers of {', '.join(flows)} consume through {connection.name!r}: "
            "publish versions without them (or archive the flows) first."
        ) from None


def connection_test(*, params: Params) -> dict[str, Any]:
    """Connect with ``params`` and report what happened, in the server's words. Never
    raises for a failure of the service: that is the answer."""
    timeout = float(settings.TRIBUTARY_CONNECTION_TEST_TIMEOUT)
    try:
        message = tester(params.kind).test(params, timeout)
    except ConnectionFailed as exc:
        return {"ok": False, "message": str(exc)}
    except Exception as exc:  # a driver's own surprise is still the answer, not a 500
        return {"ok": False, "message": f"{exc.__class__.__name__}: {first_line(exc)}"}
    return {"ok": True, "message": message}


def connection_params_for_test(
    *, connection: Connection | None, workspace: Workspace, data: Mapping[str, Any]
) -> Params:
    """The settings to test: the saved connection's, with what ``data`` overrides (a form
    being edited), checked like a save but stored nowhere."""
    draft = Connection(workspace=workspace) if connection is None else _copy(connection)
    _apply(draft, data)
    _check(draft)
    password = data.get("password") if "password" in data else None
    return params_of(draft, password=password)


def _copy(connection: Connection) -> Connection:
    draft = Connection(workspace=connection.workspace, ciphertext=connection.ciphertext)
    for field in FIELDS:
        setattr(draft, field, getattr(connection, field))
    return draft


def _save(connection: Connection, data: Mapping[str, Any]) -> Connection:
    _apply(connection, data)
    _check(connection)
    if "password" in data:
        apply_password(connection, data["password"])
    connection.updated_at = timezone.now()
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise RunRefused(
            f"This workspace already has a connection named {connection.name!r}.", field="name"
        ) from None
    return connection


def _apply(connection: Connection, data: Mapping[str, Any]) -> None:
    for field in FIELDS:
        if field in data:
            value = data[field]
            setattr(connection, field, value.strip() if isinstance(value, str) else value)


def _check(connection: Connection) -> None:
    if not re.match(NAME_PATTERN, connection.name or ""):
        raise RunRefused(
            "A connection name is letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (e.g. crm-db).",
            field="name",
        )
    if connection.kind not in ConnectionKind.values:
        raise RunRefused(f"The kind is one of: {', '.join(ConnectionKind.values)}.", field="kind")
    if not HOST.match(connection.host or ""):
        raise RunRefused(
            "The host is a name or an address, without a scheme or path.", field="host"
        )
    if connection.port is not None and not 1 <= connection.port <= 65535:
        raise RunRefused("The port is between 1 and 65535.", field="port")
    redis_db = connection.database if connection.kind == ConnectionKind.REDIS else ""
    # isdigit() alone is True for "²" (int() refuses it) and "٣" (no server reads it).
    if redis_db and not (redis_db.isascii() and redis_db.isdigit() and int(redis_db) <= 100_000):
        raise RunRefused("A Redis database is a number (0, 1, ...).", field="database")
    if connection.allow_writes and connection.kind not in DATABASE_KINDS:
        raise RunRefused("Only database connections have writes to allow.", field="allow_writes")
