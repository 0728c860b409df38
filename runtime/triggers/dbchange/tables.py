"""Which tables a database-change trigger may watch.

A watched table's rows become run payloads that editors read. Watching one of Tributary's
or Django's own tables would hand them every API token (authtoken_token), password hash
(auth_user), session, encrypted secret and other workspaces' runs; watching the outbox
(tributary_dbchange) recurses inside PostgreSQL, and watching runtime_run makes every run
start another. So those tables are refused whatever their letter case, in any schema: by
name when a graph is validated, and again at install time by what the name resolves to in
PostgreSQL (its oid). Only schemas listed in ``settings.TRIBUTARY_DBCHANGE_SCHEMAS``
(default: public) may be watched at all.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

# Tables Tributary creates outside its models (and the outbox, which is one) use this
# prefix; reserving it keeps future ones protected without touching this list.
RESERVED_PREFIX = "tributary_"
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})


def allowed_schemas() -> frozenset[str]:
    """The schemas whose tables may be watched (lower case). The setting is a list of
    names or one comma-separated string."""
    value = settings.TRIBUTARY_DBCHANGE_SCHEMAS
    names = value.split(",") if isinstance(value, str) else value
    return frozenset(name.strip().lower() for name in names if name.strip())


def own_table_names() -> list[str]:
    """Every table Django and Tributary own, as their models name them (db_table)."""
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    tables.add(MigrationRecorder.Migration._meta.db_table)  # not an installed model
    return sorted(tables)


def _bare(name: str) -> str:
    """``Public."AuthToken_Token"`` → ``authtoken_token``: the comparison ignores case,
    quotes and any schema a db_table carries."""
    return name.replace('"', "").rsplit(".", 1)[-1].lower()


def refusal(table: str) -> str | None:
    """Why ``table`` ("schema.name" as configured) may not be watched, or None."""
    schema, _, name = table.partition(".")
    return _refusal(schema, name)


def _refusal(schema: str, name: str) -> str | None:
    bare = _bare(name)
    if bare in {_bare(own) for own in own_table_names()} or bare.startswith(RESERVED_PREFIX):
        return (
            f"{schema}.{name} is one of Tributary's own tables: its rows (accounts, tokens, "
            "sessions, secrets, runs) must never become run payloads."
        )
    lowered = schema.replace('"', "").lower()
    allowed = allowed_schemas()
    if lowered in SYSTEM_SCHEMAS or lowered.startswith("pg_") or lowered not in allowed:
        return (
            f"Tables in schema {schema!r} may not be watched; this server allows "
            f"{', '.join(sorted(allowed)) or 'none'} (TRIBUTARY_DBCHANGE_SCHEMAS)."
        )
    return None


def install_refusal(cursor: Any, relation: str) -> str | None:
    """Why the table ``relation`` (a quoted, schema-qualified name) may not get a change
    trigger, judged by what PostgreSQL resolves it to, or None. A missing table is not
    refused here: CREATE TRIGGER then says that it does not exist."""
    cursor.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        [relation],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    oid, schema, name = row
    # The own tables as Django's queries reach them (through search_path): whatever name
    # was configured, the same oid is the same table.
    cursor.execute(
        "SELECT array_agg(to_regclass(t)::oid) FROM unnest(%s::text[]) AS t",
        [[connection.ops.quote_name(table) for table in own_table_names()]],
    )
    own = set(cursor.fetchone()[0] or [])
    if oid in own:
        return f"{schema}.{name} is one of Tributary's own tables and cannot be watched."
    return _refusal(schema, name)
