from django.apps import AppConfig


class AISystemsConfig(AppConfig):
    name = "aisystems"
    verbose_name = "AI systems"

    def ready(self):
        # signals: a system follows the Compliance decisions on its models' risk class.
        # The hooks: governance's demo, audit report and evidence bundle take what this app
        # adds without importing it (as governance/card_gate.py adds a gate).
        from aisystems import demo, reports, signals  # noqa: F401
        from governance.demo import DEMO_EXTENSIONS
        from governance.reports import audit_report, bundle

        for hooks, hook in (
            (DEMO_EXTENSIONS, demo.seed),
            (audit_report.EXTRA_SECTIONS, reports.audit_report_section),
            (bundle.EXTRA_MEMBERS, reports.bundle_members),
        ):
            if hook not in hooks:
                hooks.append(hook)
