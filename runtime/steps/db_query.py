"""db.query: one parameterised SQL statement against a named PostgreSQL or MySQL/MariaDB
connection; the rows (capped) are the output.

Parameters are templates rendered to values and bound as query parameters, never put into
the SQL text. Read-only unless the connection allows writes (see the client modules).
"""

from __future__ import annotations

from typing import Any

from runtime.kinds.contract import StepContext, StepError, StepKind, StepOutput
from runtime.models.connections import DATABASE_KINDS, ConnectionKind
from runtime.resources.connections.clients.base import (
    ConnectionFailed,
    QueryRequest,
    StatementFailed,
)
from runtime.resources.connections.params import Params, for_step
from runtime.resources.connections.registry import DATABASES
from runtime.resources.connections.schema import connection_field
from runtime.tracing import spans

MAX_ROWS = 10_000
MAX_PARAMETERS = 1000
# db.system.name as OpenTelemetry spells it (collectors group database calls by it); a
# MySQL connection may reach MariaDB too, which cannot be told apart before connecting.
OTEL_SYSTEMS = {ConnectionKind.POSTGRES: "postgresql", ConnectionKind.MYSQL: "mysql"}


class DbQuery(StepKind):
    type = "db.query"
    queue = "io"
    label = "Database query"
    description = (
        "Run one SQL statement on a PostgreSQL or MySQL/MariaDB connection; rows are the "
        "output. Read-only unless the connection allows writes."
    )
    output_example = {"rows": [{"id": 1}], "row_count": 1, "truncated": False, "columns": ["id"]}
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["connection", "sql"],
        "properties": {
            "connection": connection_field(DATABASE_KINDS),
            "sql": {
                "type": "string",
                "title": "SQL",
                "minLength": 1,
                "maxLength": 100_000,
                "x-widget": "code",
                "x-language": "sql",
                "default": "SELECT * FROM customers WHERE email = %s",
                "description": (
                    "One statement. Write %s for each parameter in order, or %(name)s with "
                    "named parameters; a literal % is %%. Values are never put into the SQL."
                ),
            },
            "parameters": {
                "type": ["array", "object"],
                "title": "Parameters",
                "x-widget": "json",
                "x-template": "value",
                "maxItems": MAX_PARAMETERS,
                "maxProperties": MAX_PARAMETERS,
                "examples": [["{{ event.trigger.body.email }}"]],
                "description": (
                    'A list for %s, an object for %(name)s. Strings are templates; "{{ x }}" '
                    "alone keeps x's type."
                ),
            },
            "max_rows": {
                "type": "integer",
                "title": "Row limit",
                "minimum": 1,
                "maximum": MAX_ROWS,
                "default": 1000,
            },
            "timeout_seconds": {
                "type": "number",
                "title": "Timeout (seconds)",
                "exclusiveMinimum": 0,
                "maximum": 300,
                "default": 30,
            },
        },
    }

    def rehearse(self, ctx: StepContext) -> bool:
        """A read-only connection is queried for real in a replay (the database refuses
        writes on it); one that allows writes is not: the statement is recorded instead."""
        params, _ = self._prepare(ctx)
        return params.allow_writes

    def run(self, ctx: StepContext) -> StepOutput:
        params, parameters = self._prepare(ctx)
        name = ctx.config["connection"]
        request = QueryRequest(
            sql=ctx.config["sql"],
            parameters=parameters,
            max_rows=ctx.config.get("max_rows", 1000),
            timeout=min(ctx.config.get("timeout_seconds", 30), max(ctx.remaining(), 1)),
            writes=params.allow_writes,
        )
        try:
            attributes = {
                "db.system.name": OTEL_SYSTEMS[params.kind],
                "tributary.connection": name,
            }
            with spans.child_span("db.query", "client", attributes) as span:
                result = DATABASES[params.kind].query(params, request)
                span.set("db.response.returned_rows", result.row_count)
        except ConnectionFailed as exc:
            raise StepError(str(exc), retryable=exc.retryable) from None
        except StatementFailed as exc:
            raise StepError(
                _refusal(name, exc), retryable=exc.timeout, timeout=exc.timeout
            ) from None
        return StepOutput(
            {
                "rows": result.rows,
                "row_count": result.row_count,
                "truncated": result.truncated,
                "columns": result.columns,
            }
        )

    def _prepare(self, ctx: StepContext) -> tuple[Params, list[Any] | dict[str, Any]]:
        """The connection and the rendered parameters (recorded with the SQL as the input)."""
        name = ctx.config["connection"]
        params = for_step(ctx.secrets, name, DATABASE_KINDS)
        parameters = self._parameters(ctx)
        ctx.input = {
            "connection": name,
            "sql": ctx.config["sql"],
            "parameters": parameters,
            "read_only": not params.allow_writes,
        }
        return params, parameters

    def _parameters(self, ctx: StepContext) -> list[Any] | dict[str, Any]:
        rendered = ctx.render_value(ctx.config.get("parameters", []))
        if not isinstance(rendered, list | dict):
            raise StepError("Parameters must be a list or an object.", retryable=False)
        return rendered


def _refusal(name: str, exc: StatementFailed) -> str:
    message = f"The database refused the statement: {exc}"
    if exc.read_only:
        message += (
            f". The connection {name!r} is read-only; an admin can allow writes on it "
            "(or use a connection that does)."
        )
    return message


KIND = DbQuery()
