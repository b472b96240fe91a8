"""Job now lives in core (core/migrations/0001_raccess_job.py): removed from registry's
state only. The table registry_job stays where it is, with every row."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0013_rrules_model_name_ci"),
        ("core", "0001_raccess_job"),
        ("governance", "0015_raccess_report_job_in_core"),  # Report.job no longer points here
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Job")],
            database_operations=[],
        ),
    ]
