"""URLs for the audit log, exports and per-model history."""

from django.urls import path

from governance.views import audit

urlpatterns = [
    path("audit/", audit.audit_log_view, name="audit-log"),
    path("audit/export.proof.json", audit.audit_export_proof_view, name="audit-export-proof"),
    path("audit/export.<str:fmt>", audit.audit_export_view, name="audit-export"),
    path("models/<str:name>/history/", audit.model_history_view, name="model-history"),
]
