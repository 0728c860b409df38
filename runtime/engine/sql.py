"""Every hand-written SQL statement of the runtime, in one place: the few that each step
and each webhook runs (claim, load, lock, record, advance, resolve a token).

Django's ORM spends 0.3 to 1 ms of CPU building each query — several times what PostgreSQL
spends running it — and a step runs about eight of them, which made query building a
third of a step's overhead. These statements are fixed text instead, but every value
passes through the model field's own adapter (``get_db_prep_save``) and every result
through the converters the ORM would apply, so PostgreSQL and the embedded SQLite receive
and return exactly what the ORM would (tests/runtime/engine/test_sql_parity.py runs each
statement beside its ORM equivalent on both). Status moves take their source statuses
from the one table in ``runtime.engine.status``, as the ORM's ``.transition()`` does.
Everything else uses the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import DEFERRED, Field, Model
from django.db.models.expressions import BaseExpression

from designer.models import Flow, FlowVersion
from runtime.engine.status import (
    CLAIM_CONDITIONS,
    RUN_LIVE,
    RunStatus,
    StepStatus,
    run_sources,
    step_sources,
)
from runtime.models import Run, StepRun, WebhookCapture, WebhookEndpoint

# ---------------------------------------------------------------------------------------
# Helpers: values in through the fields' adapters, results out through their converters.


def column(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def prep(field: Field, value: Any) -> Any:
    """``value`` as the database expects it in ``field``'s column."""
    return field.get_db_prep_save(value, connection)


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a statement; returns the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def fetch(sql: str, params: Sequence[Any], fields: Sequence[Field]) -> list[list[Any]]:
    """Run a query whose columns are ``fields``, converted as the ORM converts them."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = [_converters(field) for field in fields]
    return [_convert(row, converters) for row in rows]


M = TypeVar("M", bound=Model)


def partial(model: type[M], values: dict[str, Any]) -> M:
    """A model instance holding ``values`` (by attname); every other field is deferred,
    so reading one queries the database instead of returning an empty default."""
    fields = model._meta.concrete_fields
    row = [values.get(field.attname, DEFERRED) for field in fields]
    return model.from_db("default", [field.attname for field in fields], row)


# A query's columns, table by table: (model, the table's alias in the query, field names).
Columns = list[tuple[type[Model], str, tuple[str, ...]]]


def select_list(columns: Columns) -> tuple[str, list[Field]]:
    """``"s.id, s.node_id, r.status ..."`` and the fields, in the same order, for fetch()."""
    fields = [column(model, name) for model, _, names in columns for name in names]
    text = ", ".join(
        f"{alias}.{column(model, name).column}" for model, alias, names in columns for name in names
    )
    return text, fields


def by_model(fields: Sequence[Field], row: Sequence[Any]) -> dict[type[Model], dict[str, Any]]:
    """A fetched row's values grouped by the model they belong to, by attname."""
    values: dict[type[Model], dict[str, Any]] = {}
    for field, value in zip(fields, row, strict=False):
        values.setdefault(field.model, {})[field.attname] = value
    return values


def placeholders(values: Iterable[Any]) -> str:
    return ", ".join("%s" for _ in values)


def for_update() -> str:
    """Row locks where the database has them (SQLite serializes writers anyway)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


Converter = tuple[list[Any], Any]


@cache
def _converters_for(vendor: str, field: Field) -> Converter:
    col = field.get_col(field.model._meta.db_table)
    return connection.ops.get_db_converters(col) + col.get_db_converters(connection), col


def _converters(field: Field) -> Converter:
    return _converters_for(connection.vendor, field)


def _convert(row: Sequence[Any], converters: list[Converter]) -> list[Any]:
    values = list(row)
    for index, (functions, col) in enumerate(converters):
        for function in functions:
            values[index] = function(values[index], col, connection)
    return values


def _assignments(model: type[Model], fields: dict[str, Any]) -> tuple[str, list[Any]]:
    text = ", ".join(f"{column(model, name).column} = %s" for name in fields)
    return text, [prep(column(model, name), value) for name, value in fields.items()]


STEPS, RUNS = StepRun._meta.db_table, Run._meta.db_table

# ---------------------------------------------------------------------------------------
# Creating rows: a new run and its steps (runtime.runs), each in one INSERT.


def insert(objs: Sequence[Model]) -> None:
    """Insert unsaved instances of one model, setting their primary keys: what
    ``bulk_create`` stores (and ``create`` for one), without the ORM building the query —
    the two INSERTs of a new run were a third of an accepted webhook's CPU. Values pass
    through each field's ``pre_save`` and adapter; no signals are sent (bulk_create sends
    none either). A value the database computes (``db_default`` alone, an expression)
    and a database that cannot return the new ids are left to bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    pk = model._meta.pk
    fields = [field for field in model._meta.concrete_fields if field is not pk]
    rows = [[field.pre_save(obj, True) for field in fields] for obj in objs]
    if not connection.features.can_return_rows_from_bulk_insert or any(
        obj.pk is not None or any(isinstance(value, BaseExpression) for value in row)
        for obj, row in zip(objs, rows, strict=True)
    ):
        model._default_manager.bulk_create(objs)
        return
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    one = f"({placeholders(fields)})"
    size = max(1, connection.ops.bulk_batch_size(fields, objs))
    for start in range(0, len(objs), size):
        batch = rows[start : start + size]
        params = [
            prep(field, value) for row in batch for field, value in zip(fields, row, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} ({names}) VALUES "
                f"{', '.join([one] * len(batch))} RETURNING {pk.column}",
                params,
            )
            ids = [found[0] for found in cursor.fetchall()]
        for obj, new_id in zip(objs[start : start + size], ids, strict=True):
            obj.pk = new_id
            obj._state.adding, obj._state.db = False, connection.alias


# ---------------------------------------------------------------------------------------
# Status moves: the ORM's QuerySet.transition() in plain SQL, from the same table.


def step_transition(to: str, fields: dict[str, Any], where: str, params: Sequence[Any]) -> int:
    """``StepRun.objects.filter(...).transition(to, **fields)``: move the steps matching
    ``where`` to ``to`` from any status that may lead there, setting ``fields``. Returns
    how many moved."""
    sources = step_sources(StepStatus(to))
    if not sources:
        return 0  # nothing may move there (the ORM answers the same to "status IN ()")
    assignments, values = _assignments(StepRun, {"status": to, **fields})
    return execute(
        f"UPDATE {STEPS} SET {assignments} WHERE ({where}) AND status IN ({placeholders(sources)})",
        [*values, *params, *sources],
    )


def run_transition(run_id: int, to: RunStatus, fields: dict[str, Any]) -> int:
    """``Run.objects.filter(pk=run_id).transition(to, **fields)``; 1 if it moved."""
    sources = run_sources(to)
    if not sources:
        return 0
    assignments, values = _assignments(Run, {"status": to, **fields})
    return execute(
        f"UPDATE {RUNS} SET {assignments} WHERE id = %s AND status IN ({placeholders(sources)})",
        [*values, run_id, *sources],
    )


def run_update(run_id: int, fields: dict[str, Any]) -> int:
    """``Run.objects.filter(pk=run_id).update(**fields)``, whatever its status."""
    assignments, values = _assignments(Run, fields)
    return execute(f"UPDATE {RUNS} SET {assignments} WHERE id = %s", [*values, run_id])


# ---------------------------------------------------------------------------------------
# Claiming and loading a step.

# When a step may be claimed from each status runtime.engine.status.CLAIM_CONDITIONS
# names: the condition on the step's own row, with %s for the current time.
_WHEN = {"always": "", "due": " AND wake_at <= %s", "lease_expired": " AND lease_expires_at < %s"}
_NOW = object()  # stands for the current time among the claim's parameters


def _claim_where() -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for status, when in CLAIM_CONDITIONS.items():
        parts.append(f"(status = %s{_WHEN[when]})")
        params.extend([status, _NOW] if _WHEN[when] else [status])
    return " OR ".join(parts), params


_CLAIM_WHERE, _CLAIM_PARAMS = _claim_where()
_CLAIM_SQL = f"""
UPDATE {STEPS}
SET status = %s, claim = %s, lease_expires_at = %s, started_at = %s, finished_at = NULL,
    attempt = attempt + 1,
    lost = lost + CASE WHEN status = %s THEN 1 ELSE 0 END
WHERE id = %s
  AND run_id IN (SELECT id FROM {RUNS} WHERE status IN ({placeholders(RUN_LIVE)}))
  AND ({_CLAIM_WHERE})
"""
_STARTED_AT, _LEASE = column(StepRun, "started_at"), column(StepRun, "lease_expires_at")
_CLAIM = column(StepRun, "claim")


def claim_step(step_id: int, claim: uuid.UUID, now: datetime, lease: datetime) -> bool:
    """Take the step: from any status CLAIM_CONDITIONS allows (queued; waiting and due;
    running on an expired lease, its worker gone, which ``lost`` counts).

    The step's own conditions sit on the updated table itself, so when two deliveries
    race, PostgreSQL re-checks them on the row the winner left behind and the loser
    updates nothing.
    """
    at = prep(_STARTED_AT, now)
    params = [
        StepStatus.RUNNING,
        prep(_CLAIM, claim),
        prep(_LEASE, lease),
        at,
        StepStatus.RUNNING,
        step_id,
        *sorted(RUN_LIVE),
        *(at if param is _NOW else param for param in _CLAIM_PARAMS),
    ]
    return bool(execute(_CLAIM_SQL, params))


# What a claimed step needs of itself, its run, flow and version, read in one query. The
# version's graph is not among them: engine.graphs keeps each parsed version per process.
_LOADED: Columns = [
    (StepRun, "s", ("id", "run", "node_id", "status", "attempt", "failures", "lost", "wake_at")),
    (StepRun, "s", ("started_at", "finished_at", "error", "uses_secrets", "handle", "queue")),
    (StepRun, "s", ("items_total", "items_started", "items_done", "items_failed")),
    (Run, "r", ("id", "flow", "version", "status", "input", "trigger_kind", "is_test", "error")),
    (Run, "r", ("uses_secrets", "concurrency_limit", "concurrency_key")),
    (Run, "r", ("parent_step", "depth", "parent_round", "item_index", "scope")),
    (Run, "r", ("created_at", "started_at", "finished_at", "trace_parent", "replay")),
    (Flow, "f", ("id", "name", "workspace")),
    (FlowVersion, "v", ("id", "flow", "number", "created_at")),
]
_LOAD_COLUMNS, _LOAD_FIELDS = select_list(_LOADED)
_LOAD_SQL = (
    f"SELECT {_LOAD_COLUMNS} FROM {STEPS} s"
    f" JOIN {RUNS} r ON r.id = s.run_id"
    f" JOIN {Flow._meta.db_table} f ON f.id = r.flow_id"
    f" JOIN {FlowVersion._meta.db_table} v ON v.id = r.version_id"
    " WHERE s.id = %s"
)


def load_step(step_id: int) -> tuple[StepRun, Run]:
    """The step and its run (with flow and version) as model instances holding only what
    execution uses; any other field is deferred (read on access), never silently empty."""
    (row,) = fetch(_LOAD_SQL, [step_id], _LOAD_FIELDS)
    values = by_model(_LOAD_FIELDS, row)
    step, run = partial(StepRun, values[StepRun]), partial(Run, values[Run])
    run.flow = partial(Flow, values[Flow])
    run.version = partial(FlowVersion, values[FlowVersion])
    step.run = run
    return step, run


_LOCK_FIELDS = [column(Run, name) for name in ("status", "error", "finished_at", "uses_secrets")]


def lock_run(run: Run) -> None:
    """Take the run's row lock, which serializes every advance of this run, and refresh
    what may have changed meanwhile (a cancel)."""
    (row,) = fetch(
        f"SELECT status, error, finished_at, uses_secrets FROM {RUNS} WHERE id = %s" + for_update(),
        [run.pk],
        _LOCK_FIELDS,
    )
    run.status, run.error, run.finished_at, run.uses_secrets = row


def step_owned(step_id: int, claim: uuid.UUID) -> bool:
    """Lock the step's row if the attempt holding ``claim`` still owns it: nobody can
    take it over (claim_step waits on the lock) until the transaction ends."""
    rows = fetch(
        f"SELECT id FROM {STEPS} WHERE id = %s AND claim = %s" + for_update(),
        [step_id, prep(_CLAIM, claim)],
        [column(StepRun, "id")],
    )
    return bool(rows)


_LOCKED_NAMES = ("status", "wake_at", "timeout_seconds", "queue", "run", "node_id", "failures")
_COUNT_NAMES = ("items_total", "items_started", "items_done", "items_failed")
_LOCKED_STEP = [column(StepRun, name) for name in _LOCKED_NAMES + _COUNT_NAMES]
_LOCK_STEP_SQL = f"SELECT {', '.join(f.column for f in _LOCKED_STEP)} FROM {STEPS} WHERE id = %s"


def lock_step(step_id: int) -> list[Any] | None:
    """Take the step's row lock: [status, wake_at, timeout_seconds, queue, run_id, node_id,
    failures, items_total, items_started, items_done, items_failed], or None when there
    is no such step (runtime.engine.children wakes a parent step so)."""
    rows = fetch(_LOCK_STEP_SQL + for_update(), [step_id], _LOCKED_STEP)
    return rows[0] if rows else None


def step_counts(step_id: int, *, started: int, done: int, failed: int, item: int | None) -> Any:
    """Store a loop step's item counters (its row is locked by the caller) and, when
    ``item`` is an index, return that item of the list stored as the step's input: one
    statement, and only that value leaves the database, not the list. Both PostgreSQL
    and SQLite (3.38+) read ``->`` with a key, then an index, the same way."""
    rows = fetch(
        f"UPDATE {STEPS} SET items_started = %s, items_done = %s, items_failed = %s"
        " WHERE id = %s RETURNING input -> 'items' -> %s",
        [started, done, failed, step_id, item],
        [_INPUT],
    )
    return rows[0][0] if rows and item is not None else None


_INPUT = column(StepRun, "input")


# ---------------------------------------------------------------------------------------
# A run's steps: their states (to plan) and their outputs (for templates and the result).

_STATE_NAMES = ("id", "node_id", "status", "handle", "timeout_seconds", "queue")
_STATES = [column(StepRun, n) for n in _STATE_NAMES]
_STATES_SQL = f"SELECT {', '.join(f.column for f in _STATES)} FROM {STEPS} WHERE run_id = %s"


def step_states(run_id: int) -> list[tuple[int, str, str, str, float, str]]:
    """(id, node_id, status, handle, timeout_seconds, queue) of every step of the run."""
    return [tuple(row) for row in fetch(_STATES_SQL, [run_id], _STATES)]


_OUTPUTS = [column(StepRun, name) for name in ("node_id", "output", "uses_secrets")]


def step_outputs(
    run_id: int, *, statuses: Iterable[str], nodes: Sequence[str] | None = None
) -> dict[str, Any]:
    """``{node_id: output}`` of the run's steps in ``statuses`` that have an output,
    limited to ``nodes`` when given. The one query for a run's outputs: templates read
    the upstream ones, a finished run its sinks', a webhook in wait mode one step's."""
    return {node_id: output for node_id, output, _ in _outputs(run_id, statuses, nodes)}


def step_outputs_tainted(
    run_id: int, *, statuses: Iterable[str], nodes: Sequence[str]
) -> tuple[dict[str, Any], frozenset[str]]:
    """``step_outputs`` and, of those, the nodes whose steps used secrets."""
    rows = _outputs(run_id, statuses, nodes)
    return {row[0]: row[1] for row in rows}, frozenset(row[0] for row in rows if row[2])


def _outputs(run_id: int, statuses: Iterable[str], nodes: Sequence[str] | None) -> list[list[Any]]:
    wanted = sorted(statuses)
    where, params = "", [run_id, *wanted]
    if nodes is not None:
        if not nodes:
            return []
        where = f" AND node_id IN ({placeholders(nodes)})"
        params.extend(nodes)
    return fetch(
        f"SELECT node_id, output, uses_secrets FROM {STEPS} WHERE run_id = %s"
        f" AND status IN ({placeholders(wanted)}) AND output IS NOT NULL{where}",
        params,
        _OUTPUTS,
    )


# ---------------------------------------------------------------------------------------
# Webhooks: every request resolves its token in one query — the endpoint, its flow, the
# live version (without its graph: engine.graphs keeps it parsed) and a test capture
# still waiting for a request.

_ENDPOINT: Columns = [
    (WebhookEndpoint, "e", ("id", "flow", "node_id", "token")),
    (Flow, "f", ("id", "name", "workspace", "archived_at", "live_version")),
    (FlowVersion, "v", ("id", "flow", "number", "created_at")),
]
_ENDPOINT_COLUMNS, _ENDPOINT_FIELDS = select_list(_ENDPOINT)
_ENDPOINT_SQL = (
    f"SELECT {_ENDPOINT_COLUMNS}, (SELECT c.id FROM {WebhookCapture._meta.db_table} c"
    " WHERE c.endpoint_id = e.id AND c.captured_at IS NULL AND c.expires_at > %s"
    " ORDER BY c.id LIMIT 1)"
    f" FROM {WebhookEndpoint._meta.db_table} e"
    f" JOIN {Flow._meta.db_table} f ON f.id = e.flow_id"
    f" LEFT JOIN {FlowVersion._meta.db_table} v ON v.id = f.live_version_id"
    " WHERE e.token = %s"
)
_CAPTURE_ID, _EXPIRES = column(WebhookCapture, "id"), column(WebhookCapture, "expires_at")


def webhook_endpoint(token: str, now: datetime) -> tuple[WebhookEndpoint, int | None] | None:
    """The endpoint of ``token`` with its flow and live version loaded, and the id of a
    test capture waiting at ``now`` (or None); None for an unknown token."""
    rows = fetch(_ENDPOINT_SQL, [prep(_EXPIRES, now), token], [*_ENDPOINT_FIELDS, _CAPTURE_ID])
    if not rows:
        return None
    values = by_model(_ENDPOINT_FIELDS, rows[0])
    endpoint = partial(WebhookEndpoint, values[WebhookEndpoint])
    endpoint.flow = partial(Flow, values[Flow])
    version = values[FlowVersion]
    endpoint.flow.live_version = partial(FlowVersion, version) if version["id"] else None
    return endpoint, rows[0][-1]
