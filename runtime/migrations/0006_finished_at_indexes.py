"""Index when runs and steps finished, for /metrics ("finished in the last hour", run
durations): without it every scrape scans every run and step ever kept.

Partial (finished rows only): unfinished rows never match "finished since X" and stay out
of the index. Built CONCURRENTLY on PostgreSQL so an upgrade over millions of runs does not
block the runs being written meanwhile, which needs a migration outside a transaction.
Like run_input_search (0005), the indexes live in SQL, not in the models' Meta.
"""

from django.db import migrations

INDEXES = {
    "run_finished_at": "runtime_run",
    "steprun_finished_at": "runtime_steprun",
}


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, table in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {table} (finished_at) "
            "WHERE finished_at IS NOT NULL",
            params=None,
        )


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("runtime", "0005_run_input_search")]

    operations = [migrations.RunPython(create, drop)]
