from django.db import migrations

from governance.roles import ensure_default_policies


def create_defaults(apps, schema_editor):
    ensure_default_policies(apps)


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_lifecycle")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
