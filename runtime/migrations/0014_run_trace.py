from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runtime", "0013_waits"),
    ]

    operations = [
        # A constant db_default: PostgreSQL adds the column without rewriting the table.
        migrations.AddField(
            model_name="run",
            name="trace_parent",
            field=models.CharField(blank=True, db_default="", default="", max_length=55),
        ),
    ]
