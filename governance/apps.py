from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(**kwargs):
    from django.apps import apps

    from governance.roles import ensure_roles

    ensure_roles(apps)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from governance import signals  # noqa: F401  (auth and celery hooks)

        # After every migrate or test flush; registry's permissions must exist first,
        # so this listens for the registry app's signal (it comes after auth's).
        post_migrate.connect(_ensure_roles, sender=None, dispatch_uid="attest-roles")
