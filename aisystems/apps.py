from django.apps import AppConfig


class AISystemsConfig(AppConfig):
    name = "aisystems"
    verbose_name = "AI systems"

    def ready(self):
        from aisystems import demo, signals  # noqa: F401  (a system follows its models' risk decisions)
        from governance.demo import DEMO_EXTENSIONS

        if demo.seed not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(demo.seed)
