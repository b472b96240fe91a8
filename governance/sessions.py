"""Session lifetimes: an idle timeout and an absolute lifetime, both configurable.

The sign-in time and the last activity are kept in the session. A session older than
ATTEST_SESSION_ABSOLUTE_LIFETIME, or idle for longer than the user's idle timeout
(ATTEST_SESSION_PRIVILEGED_IDLE_TIMEOUT for approvers, Compliance, registry admins and
superusers; ATTEST_SESSION_IDLE_TIMEOUT for everyone else) is signed out: audited as
`auth.logout` with the reason "idle" or "expired", and the sign-in page says why.

Last activity is written at most once a minute (LAST_SEEN_RESOLUTION), so reading pages
does not save the session on every request."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from governance import access

SIGNED_IN_AT = "attest_signed_in_at"
LAST_SEEN = "attest_last_seen"
LAST_SEEN_RESOLUTION = 60  # seconds
PRIVILEGED_ROLES = (access.ROLE_APPROVERS, access.ROLE_COMPLIANCE, access.ROLE_REGISTRY_ADMINS)

MESSAGES = {
    "idle": "You were signed out after {minutes} minutes without activity. Sign in again.",
    "expired": "Your session reached its {hours}-hour limit. Sign in again.",
}


def _now() -> float:
    return time.time()


def session_started(request) -> None:
    now = int(_now())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now


def idle_timeout_for(user) -> int:
    if user.is_superuser or any(access.has_role(user, role) for role in PRIVILEGED_ROLES):
        return settings.ATTEST_SESSION_PRIVILEGED_IDLE_TIMEOUT
    return settings.ATTEST_SESSION_IDLE_TIMEOUT


def _reason(request, now: float) -> tuple[str, int] | None:
    session = request.session
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen = session.get(LAST_SEEN)
    if signed_in_at is None or last_seen is None:
        # A session from before this control (or made without the sign-in signal):
        # its clock starts now.
        session[SIGNED_IN_AT] = session.get(SIGNED_IN_AT, int(now))
        session[LAST_SEEN] = int(now)
        return None
    lifetime = settings.ATTEST_SESSION_ABSOLUTE_LIFETIME
    if now - signed_in_at >= lifetime:
        return "expired", lifetime
    idle = idle_timeout_for(request.user)
    if now - last_seen >= idle:
        return "idle", idle
    return None


class SessionLifetimeMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            return self.get_response(request)
        # API calls with a token do not use the session; only the session's user is timed.
        if request.path.startswith("/api/") and request.headers.get("Authorization"):
            return self.get_response(request)
        now = _now()
        ended = _reason(request, now)
        if ended is not None:
            return self._sign_out(request, *ended)
        if now - request.session.get(LAST_SEEN, now) >= LAST_SEEN_RESOLUTION:
            request.session[LAST_SEEN] = int(now)
        return self.get_response(request)

    def _sign_out(self, request, reason: str, seconds: int):
        request.attest_logout_reason = reason
        logout(request)  # audited by governance.signals as auth.logout with the reason
        text = MESSAGES[reason].format(minutes=seconds // 60, hours=round(seconds / 3600))
        messages.warning(request, text)
        if request.path.startswith("/api/"):
            return JsonResponse({"error_code": "UNAUTHENTICATED", "message": text}, status=401)
        login_url = reverse(settings.LOGIN_URL)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login_url
            return response
        if request.method in ("GET", "HEAD"):
            return redirect_to_login(request.get_full_path(), login_url)
        return redirect(login_url)
