from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(using="default", **kwargs):
    from django.db import connections

    from registry.search_index import ensure_search_index

    ensure_search_index(connections[using])


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self):
        from registry import checks, tasks  # noqa: F401  (system checks; tasks queued by name)

        post_migrate.connect(_ensure_search_index, sender=self)
