from django.apps import AppConfig


class AISystemsConfig(AppConfig):
    name = "aisystems"
    verbose_name = "AI systems"

    def ready(self):
        from aisystems import signals  # noqa: F401  (a system follows its models' risk decisions)
