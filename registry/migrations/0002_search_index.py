from django.db import migrations

from registry.search_index import drop_search_index, ensure_search_index


def forwards(apps, schema_editor):
    ensure_search_index(schema_editor.connection)


def backwards(apps, schema_editor):
    drop_search_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
