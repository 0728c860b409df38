"""The PostgreSQL function that database-change triggers call: it writes the change to the
outbox (tributary_dbchange) in the changing transaction and notifies the listener."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.tributary_capture_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    change_id bigint;
BEGIN
    INSERT INTO {schema}.tributary_dbchange ("table", operation, old, new, changed_at)
    VALUES (
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        lower(TG_OP),
        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END,
        now()
    )
    RETURNING id INTO change_id;
    PERFORM pg_notify('tributary_dbchange', change_id::text);
    RETURN NULL;
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    # The schema is fixed at install time: a watched table's session may use another
    # search_path, and the outbox must still be found.
    schema_editor.execute(FUNCTION.format(schema=f'"{schema}"'), params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS tributary_capture_change() CASCADE", params=None
        )


class Migration(migrations.Migration):
    dependencies = [("runtime", "0002_triggers")]

    operations = [migrations.RunPython(create, drop)]
