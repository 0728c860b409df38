"""Let the database refuse only what rewrites history: a version's graph, number and flow.

The trigger of 0002 refused every UPDATE, so deleting a user who had saved a version failed:
FlowVersion.author is SET_NULL, which is an UPDATE of author alone. The function is
replaced in place; the trigger that calls it stays.
"""

from django.db import migrations

POSTGRES_ALLOW_OTHER_FIELDS = """
CREATE OR REPLACE FUNCTION designer_flowversion_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.graph IS DISTINCT FROM OLD.graph
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.flow_id IS DISTINCT FROM OLD.flow_id THEN
        RAISE EXCEPTION 'flow versions are immutable (flow %, version %): save a new version',
            OLD.flow_id, OLD.number USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""
POSTGRES_REFUSE_ALL = """
CREATE OR REPLACE FUNCTION designer_flowversion_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'flow versions are immutable (flow %, version %): save a new version',
        OLD.flow_id, OLD.number USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
"""
# SQLite runs one statement per execute(): lists of statements.
SQLITE_DROP = "DROP TRIGGER IF EXISTS designer_flowversion_immutable"
SQLITE_ALLOW_OTHER_FIELDS = """
CREATE TRIGGER designer_flowversion_immutable BEFORE UPDATE ON designer_flowversion
WHEN NEW.graph IS NOT OLD.graph OR NEW.number IS NOT OLD.number
    OR NEW.flow_id IS NOT OLD.flow_id
BEGIN SELECT RAISE(ABORT, 'flow versions are immutable: save a new version'); END;
"""
SQLITE_REFUSE_ALL = """
CREATE TRIGGER designer_flowversion_immutable BEFORE UPDATE ON designer_flowversion
BEGIN SELECT RAISE(ABORT, 'flow versions are immutable: save a new version'); END;
"""


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)  # no params: "%" in plpgsql is literal

    return run


class Migration(migrations.Migration):
    dependencies = [("designer", "0002_version_immutability_trigger")]

    operations = [
        migrations.RunPython(
            _run(
                {
                    "postgresql": [POSTGRES_ALLOW_OTHER_FIELDS],
                    "sqlite": [SQLITE_DROP, SQLITE_ALLOW_OTHER_FIELDS],
                }
            ),
            _run(
                {
                    "postgresql": [POSTGRES_REFUSE_ALL],
                    "sqlite": [SQLITE_DROP, SQLITE_REFUSE_ALL],
                }
            ),
        )
    ]
