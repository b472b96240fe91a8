"""Job moves from registry to core (issue #16): Django's state only. The table keeps its
name, registry_job (created by registry's 0001 and 0003), so no row moves and the database
is not touched; registry's 0012 removes the model from registry's state afterwards."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("registry", "0011_tracking_access"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=50)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=16,
                            ),
                        ),
                        ("progress", models.PositiveSmallIntegerField(default=0)),
                        ("message", models.CharField(blank=True, max_length=500)),
                        (
                            "registered_model_id",
                            models.BigIntegerField(blank=True, db_index=True, null=True),
                        ),
                        (
                            "model_version_id",
                            models.BigIntegerField(blank=True, db_index=True, null=True),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("task_name", models.CharField(blank=True, max_length=200)),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "registry_job",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(fields=["status", "dispatched_at"], name="job_outbox")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
