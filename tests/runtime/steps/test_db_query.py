"""db.query against the real PostgreSQL and MariaDB: bound parameters (injection stays
data), read-only unless allowed, the row cap, the timeout and the database's own errors.
The kind runs in this process; one test runs it through a real worker end to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.engine.status import RunStatus
from runtime.kinds.contract import StepError
from runtime.steps import db_query
from tests.conftest import Team
from tests.factories import node
from tests.runtime.helpers import chain, start
from tests.runtime.resources.connections.databases import Table, customers, run_step
from tests.runtime.resources.connections.helpers import connect
from tests.stack import Stack, wait_for_run

pytestmark = pytest.mark.django_db
SLEEP = {"postgres": "SELECT pg_sleep(5)", "mysql": "SELECT SLEEP(5)"}


@pytest.fixture(params=["postgres", "mysql"])
def table(request: pytest.FixtureRequest, team: Team) -> Iterator[Table]:
    with customers(request.param) as made:
        connect(team, request.param, name="db", database=made.database)
        connect(team, request.param, name="db-rw", database=made.database, allow_writes=True)
        yield made


def query(sql: str, table: Table | None = None, **config: Any) -> dict:
    """A db.query node; ``{table}`` in the SQL names the test's table."""
    if table is not None:
        sql = sql.replace("{table}", table.name)
    return node("q", "db.query", connection=config.pop("connection", "db"), sql=sql, **config)


def test_it_returns_rows_as_objects_with_bound_parameters(team: Team, table: Table) -> None:
    step = query(
        "SELECT id, name, balance, created FROM {table} WHERE email = %s OR id = %s ORDER BY id",
        table,
        parameters=["{{ event.trigger.email }}", "{{ event.trigger.other }}"],
    )
    outcome, ctx = run_step(team, step, {"email": "bob@example.com", "other": 3})
    rows = outcome.output["rows"]
    assert [(row["id"], row["name"], row["balance"]) for row in rows] == [
        (2, "Bob", "0.10"),
        (3, "Cy", "99.99"),
    ]
    assert isinstance(rows[0]["created"], str) and rows[0]["created"][:2] == "20"
    assert outcome.output["row_count"] == 2 and outcome.output["truncated"] is False
    assert outcome.output["columns"] == ["id", "name", "balance", "created"]
    assert set(outcome.output) == set(db_query.KIND.output_example)  # offered before a run
    assert ctx.input["parameters"] == ["bob@example.com", 3]  # "{{ x }}" kept the number


def test_named_parameters_bind_from_a_mapping(team: Team, table: Table) -> None:
    step = query(
        "SELECT name FROM {table} WHERE email = %(email)s",
        table,
        parameters={"email": "{{ event.trigger.email }}"},
    )
    outcome, _ = run_step(team, step, {"email": "ada@example.com"})
    assert outcome.output["rows"] == [{"name": "Ada"}]


@pytest.mark.parametrize(
    "attack",
    ["1; DROP TABLE {table}", "' OR 1=1 --", "x' OR '1'='1", "\\'; DROP TABLE {table}; --"],
)
def test_injection_through_a_parameter_stays_data(team: Team, table: Table, attack: str) -> None:
    value = attack.replace("{table}", table.name)
    step = query("SELECT id FROM {table} WHERE email = %s", table, parameters=[value])
    outcome, _ = run_step(team, step)
    assert outcome.output["rows"] == []  # nothing extra matched
    writes = query(
        "UPDATE {table} SET name = %s WHERE id = 1", table, connection="db-rw", parameters=[value]
    )
    run_step(team, writes)
    assert table.exists() and table.count() == 3
    assert table.execute("SELECT name FROM {table} WHERE id = 1") == [(value,)]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO {table} (id, email) VALUES (9, 'x@example.com')",
        "DELETE FROM {table}",
        "DROP TABLE {table}",
        "CREATE TABLE {table}_copy (id integer)",
    ],
)
def test_a_read_only_connection_refuses_writes(team: Team, table: Table, sql: str) -> None:
    with pytest.raises(StepError) as refused:
        run_step(team, query(sql, table))
    assert "read-only" in str(refused.value).lower() or "READ ONLY" in str(refused.value)
    assert "an admin can allow writes" in str(refused.value)
    assert refused.value.retryable is False
    assert table.exists() and table.count() == 3


def test_a_connection_that_allows_writes_reports_the_rows_affected(
    team: Team, table: Table
) -> None:
    insert = query(
        "INSERT INTO {table} (id, email, name) VALUES (%s, %s, %s)",
        table,
        connection="db-rw",
        parameters=[4, "{{ event.trigger.email }}", "Dee"],
    )
    outcome, _ = run_step(team, insert, {"email": "dee@example.com"})
    assert outcome.output == {"rows": [], "row_count": 1, "truncated": False, "columns": []}
    assert table.execute("SELECT name FROM {table} WHERE email = 'dee@example.com'") == [("Dee",)]
    update = query("UPDATE {table} SET balance = 0", table, connection="db-rw")
    assert run_step(team, update)[0].output["row_count"] == 4


def test_the_row_cap_truncates_and_says_so(team: Team, table: Table) -> None:
    step = query("SELECT id FROM {table} ORDER BY id", table, max_rows=2)
    output = run_step(team, step)[0].output
    assert output["rows"] == [{"id": 1}, {"id": 2}]
    assert output["truncated"] is True and output["row_count"] == 2
    everything = run_step(team, query("SELECT id FROM {table}", table, max_rows=3))[0].output
    assert everything["truncated"] is False and everything["row_count"] == 3


def test_a_slow_query_is_cancelled_at_its_timeout(team: Team, table: Table) -> None:
    with pytest.raises(StepError) as cancelled:
        run_step(team, query(SLEEP[table.kind], timeout_seconds=0.5))
    assert "cancelled after 0.5 s" in str(cancelled.value)
    assert cancelled.value.timeout is True


def test_a_syntax_error_shows_the_databases_message_and_is_not_retried(
    team: Team, table: Table
) -> None:
    with pytest.raises(StepError) as refused:
        run_step(team, query("SELEC name FROM {table}", table))
    assert "syntax" in str(refused.value) and "SELEC" in str(refused.value)
    assert refused.value.retryable is False


def test_several_statements_in_one_query_are_refused(team: Team, table: Table) -> None:
    with pytest.raises(StepError):
        run_step(team, query("SELECT 1; DROP TABLE {table}", table, connection="db-rw"))
    assert table.exists()


def test_a_missing_connection_fails_naming_it(team: Team) -> None:
    with pytest.raises(StepError) as missing:
        run_step(team, query("SELECT 1", connection="nowhere"))
    assert "There is no connection 'nowhere' in this workspace" in str(missing.value)
    assert missing.value.retryable is False


def test_a_broker_connection_is_refused_for_a_query(team: Team) -> None:
    connect(team, "redis", name="cache")
    with pytest.raises(StepError) as wrong:
        run_step(team, query("SELECT 1", connection="cache"))
    assert "'cache' is a Redis connection" in str(wrong.value)


def test_a_wrong_password_fails_with_the_servers_message(team: Team) -> None:
    connect(team, "mysql", name="locked", password="not-the-password")
    with pytest.raises(StepError) as refused:
        run_step(team, query("SELECT 1", connection="locked"))
    assert "Access denied for user 'root'" in str(refused.value)
    assert refused.value.retryable is False


def test_a_closed_port_is_a_retryable_connection_error(team: Team) -> None:
    connect(team, "postgres", name="down", port=1)
    with pytest.raises(StepError) as refused:
        run_step(team, query("SELECT 1", connection="down"))
    assert "Could not connect to PostgreSQL at 127.0.0.1:1" in str(refused.value)
    assert refused.value.retryable is True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_queries_mariadb_and_stores_no_password(team: Team, stack: Stack) -> None:
    connect(team, "mysql", name="crm", password="")
    connect(team, "mysql", name="locked", password="pw-that-must-not-leak")
    with customers("mysql") as table:
        run = wait_for_run(
            start(
                team,
                chain(
                    query(
                        "SELECT name FROM {table} WHERE id = %s",
                        table,
                        connection="crm",
                        parameters=["{{ event.trigger.id }}"],
                    )
                ),
                {"id": 3},
            )
        )
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.output["rows"] == [{"name": "Cy"}]
        failed = wait_for_run(start(team, chain(query("SELECT 1", connection="locked"))))
    assert failed.status == RunStatus.FAILED
    step = failed.steps.get(node_id="q")
    assert "Access denied" in step.error
    assert "pw-that-must-not-leak" not in str([step.input, step.error, step.error_detail])
