import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("designer", "0003_version_trigger_allows_author_set_null"),
        ("runtime", "0014_run_trace"),
    ]

    operations = [
        migrations.CreateModel(
            name="FlowAlert",
            fields=[
                (
                    "flow",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="alert_state",
                        serialize=False,
                        to="designer.flow",
                    ),
                ),
                ("last_sent_at", models.DateTimeField()),
                (
                    "last_run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="runtime.run",
                    ),
                ),
            ],
        ),
    ]
