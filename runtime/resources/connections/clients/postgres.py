"""PostgreSQL through psycopg, on a connection of its own: never Django's, even when the
named connection points at Tributary's own database.

Read-only unless the connection allows writes: the transaction is READ ONLY and a first
query takes its snapshot, so the user's statement cannot switch it back to read-write.
Statements go through the extended protocol (prepared), which refuses several commands
in one string: ``SELECT 1; COMMIT; DELETE ...`` cannot end the read-only transaction.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    QueryRequest,
    QueryResult,
    StatementFailed,
    first_line,
)
from runtime.resources.connections.params import Params
from runtime.resources.connections.values import json_safe

# SQLSTATE classes 08 (connection exception) and 28 (invalid authorization).
AUTH_STATES = ("28000", "28P01")


class PostgresClient:
    def test(self, params: Params, timeout: float) -> str:
        with _connect(params, timeout) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        return f"Connected to PostgreSQL {version[0] if version else ''}".strip()

    def query(self, params: Params, request: QueryRequest) -> QueryResult:
        with _connect(params, request.timeout) as conn:
            conn.read_only = not request.writes
            # The client's own guard, beside the server's statement_timeout: a server that
            # stops answering altogether is cancelled too.
            guard = threading.Timer(request.timeout + 2, conn.cancel_safe)
            guard.start()
            try:
                return _run(conn, request)
            except errors.QueryCanceled as exc:
                raise StatementFailed(
                    f"The query was cancelled after {request.timeout:g} s: {first_line(exc)}",
                    timeout=True,
                ) from None
            except errors.ReadOnlySqlTransaction as exc:
                raise StatementFailed(first_line(exc), read_only=True) from None
            except psycopg.Error as exc:
                if conn.broken:
                    raise ConnectionFailed(
                        f"PostgreSQL connection lost: {first_line(exc)}"
                    ) from None
                raise StatementFailed(_message(exc)) from None
            finally:
                guard.cancel()


def _run(conn: psycopg.Connection, request: QueryRequest) -> QueryResult:
    milliseconds = str(max(1, int(request.timeout * 1000)))
    # Takes the transaction's snapshot first: from here on the read-only mode is fixed.
    conn.execute("SELECT set_config('statement_timeout', %s, true)", [milliseconds])
    with conn.cursor() as cursor:
        cursor.execute(request.sql, _adapt(request.parameters), prepare=True)
        if cursor.description is None:
            result = QueryResult(columns=[], rows=[], truncated=False, row_count=cursor.rowcount)
        else:
            columns = [column.name for column in cursor.description]
            fetched = cursor.fetchmany(request.max_rows + 1)
            result = QueryResult.read(columns, fetched, request.max_rows, json_safe)
    conn.commit()
    return result


def _adapt(parameters: list[Any] | dict[str, Any]) -> Any:
    def one(value: Any) -> Any:
        return Jsonb(value) if isinstance(value, dict) else value

    if isinstance(parameters, dict):
        return {key: one(value) for key, value in parameters.items()}
    return [one(value) for value in parameters]


def _connect(params: Params, timeout: float) -> psycopg.Connection:
    try:
        return psycopg.connect(
            host=params.host,
            port=params.port,
            dbname=params.database or "postgres",
            user=params.username or None,
            password=params.password or None,
            connect_timeout=max(1, int(min(timeout, 30))),
            sslmode="require" if params.tls else "prefer",
            application_name="tributary",
            # Without these a dead peer keeps a read blocked for the kernel's default hours.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=2,
        )
    except psycopg.Error as exc:
        state = getattr(exc, "sqlstate", None)
        raise ConnectionFailed(
            f"Could not connect to PostgreSQL at {params.host}:{params.port}: {first_line(exc)}",
            retryable=state not in AUTH_STATES and "password" not in str(exc).lower(),
        ) from None


def _message(exc: psycopg.Error) -> str:
    """The database's own message, with the position it points at."""
    text = first_line(exc)
    position = getattr(getattr(exc, "diag", None), "statement_position", None)
    return f"{text} (at character {position})" if position else text


CLIENT = PostgresClient()
