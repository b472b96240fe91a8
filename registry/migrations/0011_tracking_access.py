"""Staged (proxy-uploaded) files name the run or logged model they were uploaded under, so
that who may read them is decided through it (access.OwnedQuerySet). Existing rows are
linked from their paths; a path naming nothing stays visible to its uploader only."""

import django.db.models.deletion
from django.db import migrations, models


def _int(text):
    try:
        return int(text)
    except ValueError:
        return None


def link_staged_artifacts(apps, schema_editor):
    StagedArtifact = apps.get_model("registry", "StagedArtifact")
    Run = apps.get_model("registry", "Run")
    LoggedModel = apps.get_model("registry", "LoggedModel")
    for row in StagedArtifact.objects.only("pk", "path").iterator():
        parts = row.path.split("/")
        experiment = _int(parts[0]) if parts else None
        if experiment is None:
            continue
        if len(parts) >= 5 and parts[1] == "models" and parts[3] == "artifacts":
            lm = LoggedModel.objects.filter(model_id=parts[2], experiment_id=experiment).first()
            if lm is not None:
                StagedArtifact.objects.filter(pk=row.pk).update(logged_model=lm)
        elif len(parts) >= 4 and parts[2] == "artifacts":
            run = Run.objects.filter(run_id=parts[1], experiment_id=experiment).first()
            if run is not None:
                StagedArtifact.objects.filter(pk=row.pk).update(run=run)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_search_words"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagedartifact",
            name="logged_model",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="staged_artifacts",
                to="registry.loggedmodel",
            ),
        ),
        migrations.AddField(
            model_name="stagedartifact",
            name="run",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="staged_artifacts",
                to="registry.run",
            ),
        ),
        migrations.RunPython(link_staged_artifacts, migrations.RunPython.noop),
    ]
