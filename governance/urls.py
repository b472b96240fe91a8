"""Every URL of governance, in one place (config/urls.py only includes the apps).

Two parts: the pages of the app, named in the `governance` namespace
(`governance:request-detail`); and the sign-in pages and the admin site, whose names
Django itself looks up without a namespace (`LOGIN_URL = "login"`,
`password_change_done`, the admin's own `admin:` namespace)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from governance.admin_site import registry_admin_site
from governance.views import (
    access_reviews,
    audit,
    compliance,
    dashboard,
    grants,
    keys,
    lifecycle,
    queue,
    reports,
    risk,
    service_accounts,
    tokens,
    webhooks,
)
from governance.views.accounts import AuditedPasswordChangeView

VERSION = "models/<str:name>/versions/<int:number>/"

app_patterns = [
    # The home page: what needs the signed-in person (governance/views/dashboard.py)
    path("", dashboard.home, name="home"),
    # Approval queue and transition requests
    path("approvals/", queue.approval_queue, name="queue"),
    path("approvals/count/", queue.approval_count, name="queue-count"),
    path("requests/<int:pk>/", lifecycle.request_detail, name="request-detail"),
    path("requests/<int:pk>/decide/", lifecycle.RequestDecide.as_view(), name="request-decide"),
    path(
        "requests/<int:pk>/withdraw/",
        lifecycle.RequestWithdraw.as_view(),
        name="request-withdraw",
    ),
    path("requests/<int:pk>/comments/", lifecycle.RequestComment.as_view(), name="request-comment"),
    # From the version page
    path(VERSION + "request/", lifecycle.RequestOpen.as_view(), name="request-open"),
    path(VERSION + "archive/", lifecycle.VersionArchive.as_view(), name="version-archive"),
    path(
        VERSION + "compliance/upload/",
        compliance.ComplianceUpload.as_view(),
        name="compliance-upload",
    ),
    path(
        VERSION + "compliance/<int:pk>/download/",
        compliance.compliance_download,
        name="compliance-download",
    ),
    # From the model page
    path("models/<str:name>/aliases/", lifecycle.ModelAliases.as_view(), name="model-aliases"),
    path(
        "models/<str:name>/aliases/remove/",
        lifecycle.ModelAliasDelete.as_view(),
        name="model-alias-delete",
    ),
    path("models/<str:name>/risk-class/", risk.ModelRiskClass.as_view(), name="model-risk-class"),
    path("risk-requests/<int:pk>/", risk.risk_request_detail, name="risk-request-detail"),
    path(
        "risk-requests/<int:pk>/decide/",
        risk.RiskRequestDecide.as_view(),
        name="risk-request-decide",
    ),
    path(
        "risk-requests/<int:pk>/withdraw/",
        risk.RiskRequestWithdraw.as_view(),
        name="risk-request-withdraw",
    ),
    path("models/<str:name>/rollback/", lifecycle.ModelRollback.as_view(), name="model-rollback"),
    path("models/<str:name>/access/", grants.ModelAccess.as_view(), name="model-access"),
    path(
        "models/<str:name>/access/revoke/",
        grants.ModelAccessRevoke.as_view(),
        name="model-access-revoke",
    ),
    # Audit log, exports, per-model history
    path("audit/", audit.audit_log_view, name="audit-log"),
    path("audit/export.proof.json", audit.audit_export_proof_view, name="audit-export-proof"),
    path("audit/export.<str:fmt>", audit.audit_export_view, name="audit-export"),
    path("models/<str:name>/history/", audit.model_history_view, name="model-history"),
    # Reports. The same view: GET prefills the form from the query string, POST queues one.
    path("reports/", reports.ReportList.as_view(), name="report-list"),
    path("reports/new/", reports.ReportList.as_view(), name="report-create"),
    path("reports/<int:pk>/", reports.report_detail, name="report-detail"),
    path("reports/<int:pk>/download/", reports.report_download, name="report-download"),
    # API tokens (the profile's), webhooks, the public signing keys
    path("accounts/tokens/", tokens.TokenList.as_view(), name="token-list"),
    path("accounts/tokens/all/", tokens.token_list_all, name="token-list-all"),
    path("accounts/tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token-revoke"),
    # Access reviews (docs/deploy.md, "Access reviews")
    path("access-reviews/", access_reviews.review_list, name="access-review-list"),
    path("access-reviews/<int:pk>/", access_reviews.review_detail, name="access-review-detail"),
    path(
        "access-reviews/<int:pk>/items/<int:item_pk>/",
        access_reviews.item_decide,
        name="access-review-item-decide",
    ),
    path(
        "access-reviews/<int:pk>/close/",
        access_reviews.review_close_view,
        name="access-review-close",
    ),
    # Service accounts: a team's pipelines, tokens only (docs/deploy.md)
    path(
        "accounts/service-accounts/",
        service_accounts.ServiceAccountList.as_view(),
        name="service-account-list",
    ),
    path(
        "accounts/service-accounts/<int:pk>/",
        service_accounts.ServiceAccountDetail.as_view(),
        name="service-account-detail",
    ),
    path(
        "accounts/service-accounts/<int:pk>/tokens/<int:token_pk>/revoke/",
        service_accounts.service_account_token_revoke_view,
        name="service-account-token-revoke",
    ),
    path(
        "accounts/service-accounts/<int:pk>/deactivate/",
        service_accounts.service_account_deactivate_view,
        name="service-account-deactivate",
    ),
    path("webhooks/", webhooks.WebhookList.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook-test"),
    path("webhooks/<int:pk>/remove/", webhooks.webhook_remove, name="webhook-remove"),
    path(".well-known/attest-signing-keys.json", keys.signing_keys, name="signing-keys"),
]

account_patterns = [
    path("accounts/password/", AuditedPasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    *account_patterns,
    path("admin/", registry_admin_site.urls),
    path("", include((app_patterns, "governance"))),
]
