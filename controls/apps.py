from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Controls and readiness"

    def ready(self):
        # The promotion gate of model risk management plugs into governance's gates, as
        # governance/card_gate.py does, without governance importing this app.
        from controls import gates  # noqa: F401
