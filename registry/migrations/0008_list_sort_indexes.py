"""The model list's sort indexes carry the id that breaks ties (registry.paging reads a
page of ids from the index alone). The single-column indexes they replace are dropped by
name: on SQLite, AlterField(db_index=False) would rebuild the whole table (and drop the
FTS triggers with it) just to drop an index."""

from django.db import migrations, models

TABLE = "registry_registeredmodel"
# Django's names for the db_index=True indexes of 0001 (the same on every backend).
OLD_INDEXES = {
    "created_at": "registry_registeredmodel_created_at_1c3328d1",
    "updated_at": "registry_registeredmodel_updated_at_315c7db7",
}


def _drop_single_column_index(field: str, new_field):
    name = OLD_INDEXES[field]
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(model_name="registeredmodel", name=field, field=new_field)
        ],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{name}"',
                reverse_sql=f'CREATE INDEX "{name}" ON "{TABLE}" ("{field}")',
            )
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_experiment_run_loggedmodel_stagedartifact_runmetric"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["updated_at", "id"], name="model_updated_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["created_at", "id"], name="model_created_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["name", "id"], name="model_name_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["latest_version_number", "id"], name="model_versions_id"),
        ),
        migrations.RemoveIndex(model_name="registeredmodel", name="model_latest_version"),
        _drop_single_column_index("created_at", models.DateTimeField(auto_now_add=True)),
        _drop_single_column_index("updated_at", models.DateTimeField(auto_now=True)),
    ]
