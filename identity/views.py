from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from identity import oidc


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here; a refusal is said on the sign-in page."""

    get_settings = staticmethod(oidc._setting)

    def get(self, request):
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")
        return super().get(request)

    def login_failure(self):
        reason = getattr(self.request, "attest_sso_refusal", "")
        messages.error(
            self.request,
            f"Attest refused the sign-in: {reason}."
            if reason
            else "Signing in through the identity provider did not succeed. Try again, or ask a "
            "registry admin.",
        )
        return HttpResponseRedirect(resolve_url("login"))


@require_POST
def sign_out(request):
    """Sign out of Attest, and of the identity provider when the session came from it."""
    next_url = oidc.provider_logout_url(request) if request.user.is_authenticated else None
    auth.logout(request)
    return HttpResponseRedirect(next_url or resolve_url("login"))


class SignInView(auth_views.LoginView):
    """Django's sign-in page, offering single sign-on when it is configured."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {
            "sso_enabled": oidc.enabled(),
            "sso_provider_name": settings.OIDC_PROVIDER_NAME,
            "local_passwords": settings.ATTEST_LOCAL_PASSWORDS,
        }
