from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(**kwargs):
    from django.apps import apps

    from governance.roles import ensure_default_policies, ensure_roles

    ensure_roles(apps)
    if apps.is_installed("governance"):
        from django.db import connection

        if "governance_approvalpolicy" in connection.introspection.table_names():
            ensure_default_policies(apps)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from governance import (  # noqa: F401  (gates, auth and celery hooks, webhooks, checks)
            annex_gate,
            card_gate,
            log_tasks,
            report_tasks,
            signals,
            tasks,
            transparency,
            webhook_tasks,
        )
        from governance.pdf_signing import sign_pdf
        from governance.reports import (
            access_reviews,
            audit_report,
            bundle,
            checks,  # noqa: F401
        )
        from governance.services import webhooks  # noqa: F401
        from registry.pdf import register_anchor, register_signer

        audit_report.EXTRA_SECTIONS.append(access_reviews.audit_report_section)
        bundle.EXTRA_MEMBERS.append(access_reviews.bundle_members)
        register_signer(sign_pdf)
        register_anchor(transparency.document_anchor)

        # After every migrate or test flush; registry's permissions must exist first,
        # so this listens for the registry app's signal (it comes after auth's).
        post_migrate.connect(_ensure_roles, sender=None, dispatch_uid="attest-roles")
