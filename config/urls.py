from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz
from governance.admin_site import registry_admin_site
from governance.views import AuditedPasswordChangeView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registry:model-list"), name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", AuditedPasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", registry_admin_site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("registry.urls")),
]
