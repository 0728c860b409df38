"""Tables in the real PostgreSQL and MariaDB, made by the tests as strangers would: through
connections of their own, committed, and dropped afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import mysql.connector
import psycopg
from django.db import connection as django_connection

from designer.services import graph_validate
from runtime.kinds.catalog import step_kind
from runtime.kinds.contract import StepContext, StepOutput
from runtime.kinds.idempotency import idempotency_key
from runtime.resources.secrets import SecretBox
from tests.conftest import Team
from tests.runtime.helpers import chain
from tests.runtime.resources.connections.helpers import unique

ROWS = [
    (1, "ada@example.com", "Ada", "12.50"),
    (2, "bob@example.com", "Bob", "0.10"),
    (3, "cy@example.com", "Cy", "99.99"),
]


@dataclass
class Table:
    kind: str  # postgres | mysql
    name: str
    database: str

    def execute(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with _raw(self.kind, self.database) as cursor:
            cursor.execute(sql.replace("{table}", self.name), params)
            return list(cursor.fetchall()) if cursor.description else []

    def exists(self) -> bool:
        if self.kind == "postgres":
            found = self.execute("SELECT to_regclass(%s) IS NOT NULL", [self.name])
        else:
            found = self.execute(
                "SELECT COUNT(*) FROM information_schema.tables"
                " WHERE table_schema = %s AND table_name = %s",
                [self.database, self.name],
            )
        return bool(found[0][0])

    def count(self) -> int:
        return int(self.execute("SELECT COUNT(*) FROM {table}")[0][0])


@contextmanager
def _raw(kind: str, database: str) -> Iterator[Any]:
    if kind == "postgres":
        with (
            psycopg.connect(
                host="127.0.0.1", user="postgres", dbname=database, autocommit=True
            ) as conn,
            conn.cursor() as cursor,
        ):
            yield cursor
        return
    mariadb = mysql.connector.connect(
        host="127.0.0.1", user="root", password="", database=database, autocommit=True
    )
    try:
        yield mariadb.cursor()
    finally:
        mariadb.close()


@contextmanager
def customers(kind: str) -> Iterator[Table]:
    """A customers table with three rows in the service of ``kind``."""
    database = django_connection.settings_dict["NAME"] if kind == "postgres" else "test"
    table = Table(kind=kind, name=unique("customers"), database=database)
    created = "timestamptz" if kind == "postgres" else "datetime"
    table.execute(
        "CREATE TABLE {table} (id integer PRIMARY KEY, email varchar(200), name varchar(200),"
        f" balance numeric(10, 2), created {created} DEFAULT CURRENT_TIMESTAMP)"
    )
    for row in ROWS:
        table.execute("INSERT INTO {table} (id, email, name, balance) VALUES (%s, %s, %s, %s)", row)
    try:
        yield table
    finally:
        table.execute("DROP TABLE IF EXISTS {table}")


STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def run_step(
    team: Team, step: dict[str, Any], payload: Any = None
) -> tuple[StepOutput, StepContext]:
    """Run one step node's kind in this process (as a worker would, minus Celery), with
    the workspace's real SecretBox; raises what the kind raises."""
    graph = graph_validate(chain(step))
    node = graph.nodes[step["id"]]
    ctx = StepContext(
        node=node,
        event={"trigger": payload or {}, "steps": {}},
        info={
            "run_id": 1,
            "node_id": node.id,
            "flow_id": 1,
            "attempt": 1,
            "idempotency_key": idempotency_key(run_id=1, created_at=STARTED, node_id=node.id),
        },
        secrets=SecretBox(team.workspace.pk),
        deadline=time.monotonic() + 60,
    )
    return step_kind(node.type).run(ctx), ctx
