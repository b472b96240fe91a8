"""The list's sorts within one team, for the team filter (see RegisteredModel.Meta)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("registry", "0008_list_sort_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["team", "updated_at", "id"], name="model_team_updated_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["team", "created_at", "id"], name="model_team_created_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(fields=["team", "name", "id"], name="model_team_name_id"),
        ),
        migrations.AddIndex(
            model_name="registeredmodel",
            index=models.Index(
                fields=["team", "latest_version_number", "id"], name="model_team_versions_id"
            ),
        ),
    ]
