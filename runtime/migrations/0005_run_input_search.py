"""Full-text search over run inputs (e.g. an order id) without scanning a million rows:
a GIN index over the words and numbers of the JSON, keys left out. PostgreSQL only; the
embedded SQLite database searches the JSON text instead."""

from django.db import migrations

SEARCH_DOCUMENT = "jsonb_to_tsvector('simple', input, '[\"string\", \"numeric\"]')"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS run_input_search ON runtime_run USING gin "
            f"({SEARCH_DOCUMENT})",
            params=None,
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS run_input_search", params=None)


class Migration(migrations.Migration):
    dependencies = [("runtime", "0004_run_list_indexes")]

    operations = [migrations.RunPython(create, drop)]
