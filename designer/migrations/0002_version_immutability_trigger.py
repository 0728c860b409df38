"""Make the database itself refuse to rewrite a saved flow version.

The model and queryset already refuse; this catches raw SQL, bulk tools and future code
paths. Deletes stay possible at the SQL level (TRUNCATE in test teardown, a DBA's purge),
the ORM refuses them and runs hold PROTECT foreign keys.
"""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION designer_flowversion_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'flow versions are immutable (flow %, version %): save a new version',
        OLD.flow_id, OLD.number USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER designer_flowversion_immutable BEFORE UPDATE ON designer_flowversion
    FOR EACH ROW EXECUTE FUNCTION designer_flowversion_immutable();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS designer_flowversion_immutable ON designer_flowversion;
DROP FUNCTION IF EXISTS designer_flowversion_immutable();
"""
SQLITE_UP = """
CREATE TRIGGER designer_flowversion_immutable BEFORE UPDATE ON designer_flowversion
BEGIN SELECT RAISE(ABORT, 'flow versions are immutable: save a new version'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS designer_flowversion_immutable;"


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql, params=None)  # no params: "%" in plpgsql is literal

    return run


class Migration(migrations.Migration):
    dependencies = [("designer", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
