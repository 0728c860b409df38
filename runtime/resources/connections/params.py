"""What a client needs to reach a service: a connection's settings with its password
decrypted. Resolving one for a step records the password for redaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runtime.kinds.contract import StepError
from runtime.models import Connection, ConnectionKind
from runtime.resources.secrets import secret_decrypt


@dataclass(frozen=True)
class Params:
    name: str
    kind: ConnectionKind
    host: str
    port: int
    database: str = ""
    username: str = ""
    password: str = ""
    tls: bool = False
    allow_writes: bool = False

    def __repr__(self) -> str:  # never print the password, not even in a traceback
        return f"Params({self.kind}://{self.username}@{self.host}:{self.port}/{self.database})"


def params_of(connection: Connection, *, password: str | None = None) -> Params:
    """The connection's settings; ``password`` overrides the stored one (a test of
    settings not saved yet)."""
    if password is None:
        password = secret_decrypt(connection.ciphertext) if connection.ciphertext else ""
    return Params(
        name=connection.name,
        kind=ConnectionKind(connection.kind),
        host=connection.host,
        port=connection.effective_port,
        database=connection.database,
        username=connection.username,
        password=password,
        tls=connection.tls,
        allow_writes=connection.allow_writes,
    )


def redaction_name(name: str) -> str:
    return f"connection:{name}"


def for_step(secrets: Mapping[str, str], name: str, kinds: Iterable[ConnectionKind]) -> Params:
    """The settings of connection ``name`` for a running step, found in the workspace of
    its SecretBox. Its password goes into the box's record of what was used, so whatever
    the run stores is redacted like a secret. Raises a non-retryable StepError naming the
    connection when it does not exist or is of another kind."""
    workspace_id, used = _workspace_of(secrets)
    allowed = list(kinds)
    connection = Connection.objects.filter(workspace_id=workspace_id, name=name).first()
    if connection is None:
        raise StepError(
            f"There is no connection {name!r} in this workspace; an admin can add it under "
            "Connections.",
            retryable=False,
        )
    if connection.kind not in allowed:
        raise StepError(
            f"The connection {name!r} is a {connection.get_kind_display()} connection; this "
            f"step needs one of: {', '.join(str(ConnectionKind(k).label) for k in allowed)}.",
            retryable=False,
        )
    params = params_of(connection)
    if used is not None and params.password:
        used[redaction_name(name)] = params.password
    return params


def _workspace_of(secrets: Mapping[str, str]) -> tuple[int, dict[str, str] | None]:
    """The workspace a step runs in, and the record of what it used, from its SecretBox."""
    workspace_id = getattr(secrets, "workspace_id", None)
    if not isinstance(workspace_id, int):
        raise StepError("This step needs a run's workspace to find its connection.")
    used = getattr(secrets, "used", None)
    return workspace_id, used if isinstance(used, dict) else None
