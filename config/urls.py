from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz
from governance.admin_site import registry_admin_site
from governance.views import keys as key_views
from governance.views import tokens as token_views
from governance.views import webhooks as webhook_views
from governance.views.accounts import AuditedPasswordChangeView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registry:model-list"), name="home"),
    path("", include("identity.urls")),  # sign-out, single sign-on
    path("accounts/password/", AuditedPasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/tokens/", token_views.token_list, name="token-list"),
    path("accounts/tokens/all/", token_views.token_list_all, name="token-list-all"),
    path("accounts/tokens/<int:pk>/revoke/", token_views.token_revoke_view, name="token-revoke"),
    path("webhooks/", webhook_views.webhook_list, name="webhook-list"),
    path("webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/test/", webhook_views.webhook_test, name="webhook-test"),
    path("webhooks/<int:pk>/remove/", webhook_views.webhook_remove, name="webhook-remove"),
    path("", include("aisystems.urls")),  # before mlflow_api: its catch-all takes api/
    path("", include("mlflow_api.urls")),
    path("admin/", registry_admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path(".well-known/attest-signing-keys.json", key_views.signing_keys, name="signing-keys"),
    path("", include("registry.urls")),
    path("", include("governance.urls")),
]
