"""Webhook signing secrets are sealed at rest (governance.sealing): the ones stored in
clear before are sealed now."""

from django.db import migrations

from governance.sealing import is_sealed, seal


def seal_secrets(apps, schema_editor):
    webhook = apps.get_model("governance", "Webhook")
    hooks = webhook.objects.using(schema_editor.connection.alias).only("pk", "secret")
    clear = [hook for hook in hooks if not is_sealed(hook.secret)]
    for hook in clear:
        hook.secret = seal(hook.secret)
    webhook.objects.using(schema_editor.connection.alias).bulk_update(clear, ["secret"])


class Migration(migrations.Migration):
    dependencies = [("governance", "0009_audit_actor_name_index")]
    operations = [migrations.RunPython(seal_secrets, migrations.RunPython.noop)]
