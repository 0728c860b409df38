from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runtime", "0011_child_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="items_total",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="steprun",
            name="items_started",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="steprun",
            name="items_done",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="steprun",
            name="items_failed",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
