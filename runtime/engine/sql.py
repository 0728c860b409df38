"""Plain SQL for the few statements every step runs (claim, load, record, advance).

Django's ORM spends 0.3 to 1 ms of CPU building each query — several times what PostgreSQL
spends running it — and a step runs about eight of them, which made query building a
third of a step's overhead. These helpers send fixed SQL text instead, but pass every
value through the model field's own adapter (``get_db_prep_save``) and every result
through the converters the ORM would apply, so PostgreSQL and the embedded SQLite
receive and return exactly what the ORM would. Everything else uses the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import DEFERRED, Field, Model

from runtime.models import StepRun
from runtime.status import StepStatus, step_sources


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


def step_transition(to: str, fields: dict[str, Any], where: str, params: Sequence[Any]) -> int:
    """``StepRun.objects.filter(...).transition(to, **fields)`` in plain SQL: move the
    steps matching ``where`` to ``to`` from any status that may lead there (the one
    table in runtime.status), setting ``fields``. Returns how many moved."""
    sources = step_sources(StepStatus(to))
    names = ["status", *fields]
    assignments = ", ".join(f"{column(StepRun, name).column} = %s" for name in names)
    values = [
        prep(column(StepRun, name), value) for name, value in {"status": to, **fields}.items()
    ]
    return execute(
        f"UPDATE {StepRun._meta.db_table} SET {assignments} "
        f"WHERE ({where}) AND status IN ({placeholders(sources)})",
        [*values, *params, *sources],
    )
