"""Enrolling, verifying and managing the second factor (identity.twofactor)."""

import base64
import io
import time

import segno
from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from governance import audit
from identity import twofactor

RECOVERY_CODES = 10


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("governance:home")


ENROL_KEY = "attest_enrol_key"


def _enrolment_device(request) -> TOTPDevice:
    """The device being enrolled, unsaved: its key lives in the session until the person
    proves with a code that their app holds it (GET writes nothing)."""
    key = request.session.get(ENROL_KEY)
    if not key:
        key = request.session[ENROL_KEY] = default_key()
    return TOTPDevice(user=request.user, name="Authenticator app", key=key, confirmed=True)


def _code_matches(device: TOTPDevice, code: str) -> int | None:
    """The time step of `code` if it is the app's code now (one step of drift), else None."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    for offset in (0, -1, 1):
        totp.drift = offset
        if code.isdigit() and int(code) == totp.token():
            return totp.t()
    return None


def _qr_data_uri(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


@require_http_methods(["GET", "POST"])
def enrol(request):
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("two-factor")
    device = _enrolment_device(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = _code_matches(device, "".join(form.cleaned_data["otp_token"].split()))
        if step is not None:
            with transaction.atomic():
                device.last_t = step  # this code is spent
                device.save()
                codes = _new_recovery_codes(request.user)
                audit.record(
                    actor=request.user,
                    action="auth.second_factor_enrol",
                    target=request.user,
                    after={"device": "totp", "recovery_codes": RECOVERY_CODES},
                )
            del request.session[ENROL_KEY]
            otp_login(request, device)
            request.session[twofactor.VERIFIED_AT] = time.time()
            return render(
                request, "identity/recovery_codes.html", {"codes": codes, "next": _next(request)}
            )
        form.add_error("otp_token", "That code is not right. Enter the code the app shows now.")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "identity/enrol.html",
        {
            "form": form,
            "qr": _qr_data_uri(device.config_url),
            "secret": secret,
            "next": _next(request),
            "required": twofactor.required_for(request.user),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def verify(request):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.verify(request, form.cleaned_data["otp_token"]):
            return HttpResponseRedirect(_next(request))
        form.add_error(
            "otp_token",
            "That code is not right, was used already, or came too soon after a wrong one "
            "(wait a few seconds).",
        )
    return render(
        request,
        "identity/verify.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )


def manage(request):
    confirmed = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()
    recovery = StaticToken.objects.filter(device__user=request.user).count()
    return render(
        request,
        "identity/two_factor.html",
        {
            "enrolled": confirmed,
            "recovery_left": recovery,
            "required": twofactor.required_for(request.user),
        },
    )


@require_POST
def recovery_codes_renew(request):
    if not request.user.is_verified():
        return redirect(f"{reverse('two-factor-verify')}?next={reverse('two-factor')}")
    with transaction.atomic():
        codes = _new_recovery_codes(request.user)
        audit.record(
            actor=request.user,
            action="auth.second_factor_recovery_renew",
            target=request.user,
            after={"recovery_codes": RECOVERY_CODES},
        )
    return render(
        request, "identity/recovery_codes.html", {"codes": codes, "next": reverse("two-factor")}
    )


@require_POST
def remove(request):
    if twofactor.required_for(request.user):
        messages.error(request, "Your role requires a second factor: it cannot be removed.")
        return redirect("two-factor")
    if not request.user.is_verified():
        return redirect(f"{reverse('two-factor-verify')}?next={reverse('two-factor')}")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=request.user).delete()
        StaticDevice.objects.filter(user=request.user).delete()
        audit.record(actor=request.user, action="auth.second_factor_remove", target=request.user)
    messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("two-factor")
