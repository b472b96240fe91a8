"""URLs for approval queues, transition requests, lifecycle actions and access pages."""

from django.urls import path

from governance.views import compliance, grants, lifecycle, queue, risk

urlpatterns = [
    path("approvals/", queue.approval_queue, name="queue"),
    path("approvals/count/", queue.approval_count, name="queue-count"),
    path("requests/<int:pk>/", lifecycle.request_detail, name="request-detail"),
    path("requests/<int:pk>/decide/", lifecycle.request_decide, name="request-decide"),
    path("requests/<int:pk>/withdraw/", lifecycle.request_withdraw, name="request-withdraw"),
    path("requests/<int:pk>/comments/", lifecycle.request_comment, name="request-comment"),
    path(
        "models/<str:name>/versions/<int:number>/request/",
        lifecycle.request_open,
        name="request-open",
    ),
    path(
        "models/<str:name>/versions/<int:number>/archive/",
        lifecycle.version_archive_view,
        name="version-archive",
    ),
    path(
        "models/<str:name>/versions/<int:number>/compliance/upload/",
        compliance.compliance_upload,
        name="compliance-upload",
    ),
    path(
        "models/<str:name>/versions/<int:number>/compliance/<int:pk>/download/",
        compliance.compliance_download,
        name="compliance-download",
    ),
    path("models/<str:name>/aliases/", lifecycle.model_aliases, name="model-aliases"),
    path(
        "models/<str:name>/aliases/remove/",
        lifecycle.model_alias_delete,
        name="model-alias-delete",
    ),
    path("models/<str:name>/risk-class/", risk.model_risk_class, name="model-risk-class"),
    path("risk-requests/<int:pk>/", risk.risk_request_detail, name="risk-request-detail"),
    path("risk-requests/<int:pk>/decide/", risk.risk_request_decide, name="risk-request-decide"),
    path(
        "risk-requests/<int:pk>/withdraw/",
        risk.risk_request_withdraw,
        name="risk-request-withdraw",
    ),
    path("models/<str:name>/rollback/", lifecycle.model_rollback, name="model-rollback"),
    path("models/<str:name>/access/", grants.model_access, name="model-access"),
    path(
        "models/<str:name>/access/revoke/",
        grants.model_access_revoke,
        name="model-access-revoke",
    ),
]
