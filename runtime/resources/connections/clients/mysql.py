"""MySQL and MariaDB through mysql-connector's prepared statements: parameters travel
bound in the binary protocol, never spliced into the SQL text, and a prepared statement is
one statement only.

Read-only unless the connection allows writes: both the session and the transaction are
READ ONLY. The session setting matters on MariaDB, where DDL (DROP TABLE, CREATE
DATABASE) commits the read-only transaction implicitly and would otherwise run.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import mysql.connector
from mysql.connector import errorcode

from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    QueryRequest,
    QueryResult,
    StatementFailed,
    first_line,
)
from runtime.resources.connections.params import Params
from runtime.resources.connections.values import json_safe

NAMED = re.compile(r"%\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)s")
TIMEOUT_ERRORS = (1969, 3024)  # MariaDB max_statement_time, MySQL max_execution_time
READ_ONLY_ERRORS = (1792, 1568)
AUTH_ERRORS = (errorcode.ER_ACCESS_DENIED_ERROR, errorcode.ER_DBACCESS_DENIED_ERROR)
# The driver logs its authentication plugin at INFO on every connect: noise in a worker log.
logging.getLogger("mysql.connector").setLevel(logging.WARNING)


class MysqlClient:
    def test(self, params: Params, timeout: float) -> str:
        conn = _connect(params, timeout)
        try:
            # MariaDB announces itself as "5.5.5-10.11..." for the sake of old clients.
            return f"Connected to {str(conn.server_info).removeprefix('5.5.5-')}"
        finally:
            conn.close()

    def query(self, params: Params, request: QueryRequest) -> QueryResult:
        conn = _connect(params, request.timeout)
        try:
            return _run(conn, request)
        except mysql.connector.Error as exc:
            raise _failure(exc, request) from None
        finally:
            conn.close()


def _run(conn: Any, request: QueryRequest) -> QueryResult:
    cursor = conn.cursor(prepared=True)
    mariadb = "mariadb" in str(conn.server_info).lower()
    if mariadb:
        cursor.execute("SET SESSION max_statement_time = ?", (max(0.001, request.timeout),))
    else:
        cursor.execute("SET SESSION max_execution_time = ?", (max(1, int(request.timeout * 1000)),))
    if request.writes:
        cursor.execute("START TRANSACTION READ WRITE")
    else:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.execute("START TRANSACTION READ ONLY")
    sql, values = _bind(request.sql, request.parameters)
    cursor.execute(sql, values)
    if not cursor.description:
        result = QueryResult(columns=[], rows=[], truncated=False, row_count=cursor.rowcount)
    else:
        columns = [str(column[0]) for column in cursor.description]
        fetched = cursor.fetchmany(request.max_rows + 1)
        result = QueryResult.read(
            columns, fetched, request.max_rows, lambda raw: json_safe(_text(raw))
        )
        cursor.fetchall()  # the rest of the result must be read before the connection is reused
    conn.commit()
    return result


def _bind(sql: str, parameters: list[Any] | dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The statement with ``?`` placeholders and its values in order. Named parameters
    (``%(email)s``) are rewritten to ``?``: prepared statements bind by position."""
    if isinstance(parameters, dict):
        names: list[str] = []

        def take(match: re.Match[str]) -> str:
            names.append(match.group("name"))
            return "?"

        sql = NAMED.sub(take, sql)
        missing = [name for name in names if name not in parameters]
        if missing:
            raise StatementFailed(f"No parameter named {missing[0]!r} is given.")
        return sql, tuple(_value(parameters[name]) for name in names)
    return sql.replace("%s", "?"), tuple(_value(value) for value in parameters)


def _value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _text(value: Any) -> Any:
    # Prepared statements return text columns as bytearray on some servers.
    if isinstance(value, bytearray):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return bytes(value)
    return value


def _connect(params: Params, timeout: float) -> Any:
    seconds = max(1, int(min(timeout + 2, 300)))
    options: dict[str, Any] = {
        "host": params.host,
        "port": params.port,
        "user": params.username,
        "password": params.password,
        "connection_timeout": max(1, min(seconds, 30)),
        # The client's own guard beside the server's statement timeout.
        "read_timeout": seconds,
        "write_timeout": seconds,
        "autocommit": False,
        "charset": "utf8mb4",
        "ssl_disabled": not params.tls,
    }
    if params.database:
        options["database"] = params.database
    try:
        return mysql.connector.connect(**options)
    except mysql.connector.Error as exc:
        raise ConnectionFailed(
            f"Could not connect to MySQL at {params.host}:{params.port}: {_message(exc)}",
            retryable=getattr(exc, "errno", None) not in AUTH_ERRORS,
        ) from None


def _failure(exc: mysql.connector.Error, request: QueryRequest) -> Exception:
    errno = getattr(exc, "errno", None)
    if errno in TIMEOUT_ERRORS:
        return StatementFailed(
            f"The query was cancelled after {request.timeout:g} s: {_message(exc)}", timeout=True
        )
    if errno in READ_ONLY_ERRORS:
        return StatementFailed(_message(exc), read_only=True)
    lost = isinstance(exc, mysql.connector.errors.OperationalError | mysql.connector.InterfaceError)
    if lost and (errno is None or errno >= 2000):  # client-side errors: the connection is gone
        return ConnectionFailed(f"MySQL connection lost: {_message(exc)}")
    return StatementFailed(_message(exc))


def _message(exc: mysql.connector.Error) -> str:
    return first_line(exc) if not getattr(exc, "msg", None) else str(exc.msg).splitlines()[0]


CLIENT = MysqlClient()
