from django.contrib.auth.decorators import login_not_required
from django.urls import path

from identity import oidc, views

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
]
