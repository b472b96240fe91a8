"""Two-factor authentication (django-otp: TOTP, and one-time recovery codes).

Who needs it: members of `ATTEST_2FA_REQUIRED_ROLES` (by default approvers, Compliance and
registry admins: the people whose one decision moves a model into Production or changes
who may). They enrol before they can use any page. Anyone may enrol voluntarily.

Step-up: the decisions in `ATTEST_STEP_UP_VIEWS` (approve or reject, grant or revoke,
change a risk class, roll back) ask for a current code when the session's last one is
older than `ATTEST_STEP_UP_MINUTES`. The code is asked for on the spot: the page that asks
re-posts the person's form with it, so nothing they typed is lost."""

import time

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance import access, audit

VERIFIED_AT = "attest_second_factor_at"
TOKEN_FIELD = "otp_token"
# Never redirected to enrolment or verification: signing out, the two-factor pages
# themselves, static files and health. (Token requests to the API are anonymous here: the
# API authenticates them itself. A session request to the API is held to the same rule as
# a page, answered in JSON.)
EXEMPT_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/static/", "/healthz")
API_PREFIXES = ("/api/", "/ajax-api/")


def required_for(user) -> bool:
    # The group names are read once per request and shared with every role check.
    required = settings.ATTEST_2FA_REQUIRED_ROLES
    return bool(required) and any(access.has_role(user, role) for role in required)


def verified_recently(request) -> bool:
    at = request.session.get(VERIFIED_AT)
    return bool(at) and time.time() - at < settings.ATTEST_STEP_UP_MINUTES * 60


def verify(request, token: str):
    """The device that accepts this code (TOTP, or a recovery code, used up), marking the
    session verified now; None otherwise. Both outcomes are audited."""
    token = "".join((token or "").split())
    user = request.user
    device = None
    if token:
        with transaction.atomic():
            for candidate in [
                *TOTPDevice.objects.devices_for_user(user, confirmed=True),
                *StaticDevice.objects.devices_for_user(user, confirmed=True),
            ]:
                candidate = type(candidate).objects.select_for_update().get(pk=candidate.pk)
                if candidate.verify_is_allowed()[0] and candidate.verify_token(token):
                    device = candidate
                    break
    with transaction.atomic():
        audit.record(
            actor=user,
            action="auth.second_factor" if device else "auth.second_factor_failed",
            target=user,
            after={"device": type(device).__name__ if device else None, "path": request.path[:200]},
        )
    if device is not None:
        otp_login(request, device)
        request.session[VERIFIED_AT] = time.time()
    return device


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: sends people who must use a second factor to
    enrol or verify first, and asks for a fresh code before a step-up decision."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(EXEMPT_PREFIXES):
            return None
        must = required_for(user)
        if must and request.path.startswith(API_PREFIXES):
            if user_has_device(user) and user.is_verified():
                return None
            return JsonResponse(
                {
                    "error_code": "PERMISSION_DENIED",
                    "message": "This session has not passed two-factor authentication; "
                    "use an API token, or sign in with your second factor.",
                },
                status=403,
            )
        if request.path.startswith(API_PREFIXES):
            return None
        if must and not user_has_device(user):
            return redirect(f"{reverse('two-factor-enrol')}?next={request.get_full_path()}")
        if must and not user.is_verified():
            return redirect(f"{reverse('two-factor-verify')}?next={request.get_full_path()}")
        if request.method == "POST" and _is_step_up(request) and (must or user_has_device(user)):
            return self._step_up(request)
        return None

    def _step_up(self, request):
        if verified_recently(request):
            return None
        if TOKEN_FIELD in request.POST and verify(request, request.POST[TOKEN_FIELD]):
            return None  # the original request goes on, with its form intact
        fields = [
            (k, v)
            for k in request.POST
            for v in request.POST.getlist(k)
            if k not in (TOKEN_FIELD, "csrfmiddlewaretoken")
        ]
        return render(
            request,
            "identity/step_up.html",
            {
                "fields": fields,
                "action": request.get_full_path(),
                "failed": TOKEN_FIELD in request.POST,
            },
            status=403 if TOKEN_FIELD in request.POST else 200,
        )


def _is_step_up(request) -> bool:
    match = request.resolver_match
    return match is not None and match.view_name in settings.ATTEST_STEP_UP_VIEWS
