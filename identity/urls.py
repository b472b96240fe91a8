from django.contrib.auth.decorators import login_not_required
from django.urls import path

from identity import oidc, twofactor_views, views

urlpatterns = [
    path("accounts/login/", login_not_required(views.SignInView.as_view()), name="login"),
    path("accounts/logout/", login_not_required(views.sign_out), name="logout"),
    path(
        "accounts/sso/start/",
        login_not_required(oidc.SignInRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "accounts/sso/callback/",
        login_not_required(views.SignInCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path("accounts/two-factor/", twofactor_views.manage, name="two-factor"),
    path("accounts/two-factor/enrol/", twofactor_views.enrol, name="two-factor-enrol"),
    path("accounts/two-factor/verify/", twofactor_views.verify, name="two-factor-verify"),
    path(
        "accounts/two-factor/recovery-codes/",
        twofactor_views.recovery_codes_renew,
        name="two-factor-recovery-renew",
    ),
    path("accounts/two-factor/remove/", twofactor_views.remove, name="two-factor-remove"),
]
