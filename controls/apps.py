from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "controls"
    verbose_name = "Controls and readiness"

    def ready(self):
        # The promotion gate of model risk management plugs into governance's gates, as
        # governance/card_gate.py does; the demo and the evidence bundle take what this app
        # adds through their hooks. Governance imports nothing from here.
        from controls import demo, gates, reports  # noqa: F401
        from governance.demo import DEMO_EXTENSIONS
        from governance.reports import bundle

        for hooks, hook in (
            (DEMO_EXTENSIONS, demo.seed),
            (bundle.EXTRA_MEMBERS, reports.bundle_members),
        ):
            if hook not in hooks:
                hooks.append(hook)
