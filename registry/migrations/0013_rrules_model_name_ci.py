"""Registered model names are unique without regard to case, in the database.

Until now only the services checked (an `exists()` before the insert), so two creations at
the same moment could both pass, and rows written another way were never checked. Rows
whose names differ only by case are not renamed here: which one keeps its name is a
decision for a person, and a rename is an audited change (the MLflow API's rename, by a
manager of the model). The migration stops and names them instead."""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


class DuplicateModelNames(RuntimeError):
    pass


def refuse_names_differing_by_case(apps, schema_editor):
    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    clashing = (
        RegisteredModel.objects.annotate(folded=Lower("name"))
        .values("folded")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("folded", flat=True)
    )
    folded = set(clashing)
    if not folded:
        return
    rows = (
        RegisteredModel.objects.annotate(folded=Lower("name"))
        .filter(folded__in=folded)
        .order_by("folded", "id")
        .values_list("folded", "id", "name")
    )
    groups: dict[str, list[str]] = {}
    for key, pk, name in rows:
        groups.setdefault(key, []).append(f"{name!r} (id {pk})")
    listed = "; ".join(", ".join(names) for names in groups.values())
    raise DuplicateModelNames(
        "Registered model names must be unique without regard to case, and these models "
        f"differ only by case: {listed}. Nothing was changed. Rename all but one of each "
        "group (an audited rename: the MLflow API's registered-models/rename, by a manager "
        "of the model), then run migrate again."
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0012_external_runs"),
    ]

    operations = [
        migrations.RunPython(refuse_names_differing_by_case, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="registeredmodel",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"), name="registry_model_name_ci"
            ),
        ),
    ]
