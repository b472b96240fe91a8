"""OpenID Connect sign-in: mozilla-django-oidc's code flow, configured from the issuer.

The provider's endpoints and signing keys come from its discovery document
(`<issuer>/.well-known/openid-configuration`), fetched on first use and kept for an hour,
so a deployment sets only the issuer, the client id and secret, and the scopes
(docs/deploy.md, "Single sign-on"). The document must name the configured issuer, as
OpenID Connect Discovery requires, so a misconfigured or spoofed URL is refused."""

import logging
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from identity.services import SignInRefused, sso_account

log = logging.getLogger("attest.identity")
_DISCOVERY_TTL = 3600
_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()

# mozilla-django-oidc's setting names, answered from the discovery document.
_FROM_DISCOVERY = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def provider_config() -> dict:
    issuer = settings.OIDC_ISSUER.rstrip("/")
    if not issuer:
        raise ImproperlyConfigured("OIDC_ISSUER is not set: single sign-on is off.")
    with _lock:
        cached = _cache.get(issuer)
        if cached and time.monotonic() - cached[0] < _DISCOVERY_TTL:
            return cached[1]
    response = requests.get(
        f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
    )
    response.raise_for_status()
    config = response.json()
    if str(config.get("issuer", "")).rstrip("/") != issuer:
        raise ImproperlyConfigured(
            f"The identity provider at {issuer} names itself {config.get('issuer')!r}."
        )
    with _lock:
        _cache[issuer] = (time.monotonic(), config)
    return config


def forget_provider_config() -> None:
    with _lock:
        _cache.clear()


def _setting(name: str, *default):
    if name in _FROM_DISCOVERY:
        return provider_config()[_FROM_DISCOVERY[name]]
    return getattr(settings, name, *default) if default else getattr(settings, name)


class SignInRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider; 404 while single sign-on is off."""

    def __init__(self, *args, **kwargs):  # noqa: D107 - endpoints are read per request
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    get_settings = staticmethod(_setting)

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = _setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ImproperlyConfigured, ValueError, KeyError) as exc:
            log.error("Single sign-on is unavailable: %s", exc)
            messages.error(
                request,
                "Single sign-on is unavailable: Attest cannot use the identity provider "
                "right now. Try again later, or tell a registry admin.",
            )
            return HttpResponseRedirect(reverse("login"))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class OIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the provider's callback. The account is found by (issuer, subject)
    and its roles and teams follow the claims (identity.services.sso_account)."""

    def __init__(
        self, *args, **kwargs
    ):  # endpoints resolve lazily: no discovery per password sign-in
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    get_settings = staticmethod(_setting)
    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 - the library's attribute names
        return _setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return _setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return _setting("OIDC_OP_JWKS_ENDPOINT")

    @property
    def OIDC_RP_CLIENT_ID(self):  # noqa: N802
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self):  # noqa: N802
        return settings.OIDC_RP_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        if request is None or not enabled() or "code" not in request.GET:
            return None  # a password sign-in, or SSO off: not this backend's business
        return super().authenticate(request, **kwargs)

    def retrieve_matching_jwk(self, token):
        """The provider's key for this token: by its `kid`, or, for a token without one,
        the provider's only signing key (as OpenID Connect Core allows); never a guess
        among several."""
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        header = jwt.get_unverified_header(token)
        keys = [
            k
            for k in response.json().get("keys", [])
            if k.get("use", "sig") == "sig" and k.get("alg", header.get("alg")) == header.get("alg")
        ]
        if "kid" in header:
            keys = [k for k in keys if k.get("kid") == header["kid"]]
        if len(keys) != 1:
            raise SuspiciousOperation("No single signing key of the provider matches the token.")
        return jwt.PyJWK(keys[0])

    def verify_token(self, token, **kwargs):
        """The library checks the signature and nonce; this checks who issued the token
        and for whom (the library leaves the audience unchecked)."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
            raise SuspiciousOperation("The ID token was issued by another provider.")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued for another client.")
        return payload

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo subject differs from the ID token's.")
        try:
            return sso_account(issuer=settings.OIDC_ISSUER.rstrip("/"), claims=claims)
        except SignInRefused as exc:
            self.request.attest_sso_refusal = str(exc)
            return None


def provider_logout_url(request) -> str | None:
    """RP-initiated logout at the provider, when it offers one (the browser then returns to
    the sign-in page); None to sign out of Attest only."""
    if not enabled():
        return None
    id_token = request.session.get("oidc_id_token")
    try:
        endpoint = provider_config().get("end_session_endpoint")
    except (requests.RequestException, ImproperlyConfigured, ValueError):
        return None
    if not endpoint or not id_token:
        return None
    back = request.build_absolute_uri(reverse("login"))
    return f"{endpoint}?{urlencode({'id_token_hint': id_token, 'post_logout_redirect_uri': back})}"
