"""Issue 20: two-factor authentication for deciders, with step-up before a decision.

The attacker holds an approver's (or registry admin's) password, phished or reused, but
not their phone: they must not reach a page, decide a request, grant approve or move a
risk class. A second attacker walks up to an approver's unlocked, long-open session: the
decision still asks for a fresh code. Recovery codes work once each."""

import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance import access
from governance.models import AuditEvent, Decision
from governance.services import model_risk_class_set
from governance.services.tokens import token_create
from governance.services.transitions import transition_request_open
from identity import twofactor
from registry.models import Artifact
from tests.factories import make_model, make_user, make_version

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def deciders_need_two_factor(settings):
    settings.ATTEST_2FA_REQUIRED_ROLES = ["Approvers", "Compliance", "Registry admins"]
    settings.ATTEST_STEP_UP_MINUTES = 15


def code_for(device: TOTPDevice, *, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at or time.time()
    return f"{totp.token():0{device.digits}d}"


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def _pending_request(approver):
    owner = make_user("dana", access.ROLE_DATA_SCIENTISTS, "Fraud")
    model = make_model(owner, name="fraud-detector")
    access.grant(model, "approve", user=approver)
    version = make_version(owner, model)
    model_risk_class_set(actor=owner, registered_model=model, risk_class="limited", rationale="x")
    Artifact.objects.filter(model_version=version).update(scan_status="clean")
    version.refresh_from_db()
    return transition_request_open(
        actor=owner, version=version, target_stage="Staging", justification="ready"
    )


def test_an_approver_with_only_a_password_reaches_no_page_until_enrolled():
    make_user("avery", access.ROLE_APPROVERS)
    client = signed_in("avery")
    for path in ("/models/", reverse("governance:queue"), "/admin/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two-factor-enrol"))


def test_enrolment_confirms_with_a_code_and_shows_recovery_codes_once():
    avery = make_user("avery", access.ROLE_APPROVERS)
    client = signed_in("avery")
    page = client.get(reverse("two-factor-enrol"))
    assert page.status_code == 200 and b"otpauth" not in page.content  # the QR is an image
    assert not TOTPDevice.objects.exists()  # showing the key writes nothing
    again = client.get(reverse("two-factor-enrol"))
    assert again.context["secret"] == page.context["secret"]  # a reload keeps the scanned key
    device = TOTPDevice(key=client.session["attest_enrol_key"])
    wrong = client.post(reverse("two-factor-enrol"), {"otp_token": "000000", "next": "/models/"})
    assert wrong.status_code == 400 and b"not right" in wrong.content
    assert wrong.context["form"]["otp_token"].value() == "000000"  # the input is kept
    done = client.post(
        reverse("two-factor-enrol"), {"otp_token": code_for(device), "next": "/models/"}
    )
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    assert StaticToken.objects.filter(device__user=avery).count() == 10
    assert TOTPDevice.objects.get(user=avery).confirmed
    assert AuditEvent.objects.filter(action="auth.second_factor_enrol", actor=avery).exists()
    assert client.get("/models/").status_code == 200


def test_sign_in_asks_for_the_code_and_a_stolen_password_alone_gets_nowhere():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    client = signed_in("avery")
    response = client.get("/models/")
    assert response["Location"].startswith(reverse("two-factor-verify"))
    bad = client.post(reverse("two-factor-verify"), {"otp_token": "123456", "next": "/models/"})
    assert bad.status_code == 400
    assert client.get("/models/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.second_factor_failed").count() == 1
    time.sleep(1.1)
    good = client.post(
        reverse("two-factor-verify"), {"otp_token": code_for(device), "next": "/models/"}
    )
    assert good.status_code == 302 and good["Location"] == "/models/"
    assert client.get("/models/").status_code == 200


def test_a_recovery_code_works_once():
    avery = make_user("avery", access.ROLE_APPROVERS)
    enrolled(avery)
    from identity.twofactor_views import _new_recovery_codes

    code = _new_recovery_codes(avery)[0]
    first = signed_in("avery")
    assert first.post(reverse("two-factor-verify"), {"otp_token": code}).status_code == 302
    second = signed_in("avery")
    assert second.post(reverse("two-factor-verify"), {"otp_token": code}).status_code == 400


def test_the_next_url_cannot_send_someone_off_site():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    client = signed_in("avery")
    response = client.post(
        reverse("two-factor-verify"),
        {"otp_token": code_for(device), "next": "https://evil.example/phish"},
    )
    assert response["Location"] == reverse("governance:home")


def test_a_decision_in_an_old_session_asks_for_a_fresh_code_and_keeps_the_form():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    request = _pending_request(avery)
    client = signed_in("avery")
    # Signed in with the previous 30-second code (accepted: one step of drift), so the
    # current one is still unused (a TOTP code is never accepted twice).
    client.post(reverse("two-factor-verify"), {"otp_token": code_for(device, at=time.time() - 30)})
    session = client.session
    session[twofactor.VERIFIED_AT] = time.time() - 16 * 60  # the code is 16 minutes old
    session.save()
    decide = reverse("governance:request-decide", args=[request.pk])
    form = {"outcome": "approve", "reason": "Metrics reviewed, <b>fine</b>"}
    asked = client.post(decide, form)
    assert asked.status_code == 200
    assert ("reason", "Metrics reviewed, <b>fine</b>") in asked.context["fields"]
    assert not Decision.objects.exists()
    wrong = client.post(decide, form | {"otp_token": "000000"})
    assert wrong.status_code == 403 and not Decision.objects.exists()
    time.sleep(1.1)
    confirmed = client.post(decide, form | {"otp_token": code_for(device)})
    assert confirmed.status_code in (200, 302)
    decision = Decision.objects.get()
    assert (decision.outcome, decision.reason) == ("approve", "Metrics reviewed, <b>fine</b>")


def test_a_code_is_never_accepted_twice():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    code = code_for(device)
    assert signed_in("avery").post(reverse("two-factor-verify"), {"otp_token": code})[
        "Location"
    ] == reverse("governance:home")
    replay = signed_in("avery").post(reverse("two-factor-verify"), {"otp_token": code})
    assert replay.status_code == 400


def test_a_fresh_code_covers_decisions_for_the_step_up_window():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    request = _pending_request(avery)
    client = signed_in("avery")
    client.post(reverse("two-factor-verify"), {"otp_token": code_for(device)})
    response = client.post(
        reverse("governance:request-decide", args=[request.pk]),
        {"outcome": "approve", "reason": "ok"},
    )
    assert response.status_code in (200, 302) and Decision.objects.count() == 1


def test_granting_in_the_admin_asks_for_a_fresh_code_too():
    ada = make_user("ada", access.ROLE_REGISTRY_ADMINS)
    device = enrolled(ada)
    client = signed_in("ada")
    client.post(reverse("two-factor-verify"), {"otp_token": code_for(device)})
    session = client.session
    session[twofactor.VERIFIED_AT] = time.time() - 3600
    session.save()
    url = reverse("admin:registry_registeredmodeluserobjectpermission_add")
    response = client.post(url, {"content_object": "1", "user": "1", "permission": "1"})
    assert response.status_code == 200
    assert response.templates[0].name == "identity/step_up.html"


def test_the_api_with_a_token_is_not_sent_to_a_two_factor_page():
    avery = make_user("avery", access.ROLE_APPROVERS)
    raw = token_create(actor=avery, name="ci", scope="read")[1]
    response = Client().get(
        "/api/2.0/mlflow/registered-models/search", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200


def test_a_required_second_factor_cannot_be_removed_but_a_voluntary_one_can():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    client = signed_in("avery")
    client.post(reverse("two-factor-verify"), {"otp_token": code_for(device)})
    client.post(reverse("two-factor-remove"))
    assert TOTPDevice.objects.filter(user=avery).exists()

    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS)
    voluntary = enrolled(dana)
    client = signed_in("dana")
    client.post(reverse("two-factor-verify"), {"otp_token": code_for(voluntary)})
    client.post(reverse("two-factor-remove"))
    assert not TOTPDevice.objects.filter(user=dana).exists()
    assert AuditEvent.objects.filter(action="auth.second_factor_remove", actor=dana).exists()


def test_guessing_codes_is_throttled():
    avery = make_user("avery", access.ROLE_APPROVERS)
    device = enrolled(avery)
    client = signed_in("avery")
    for guess in ("111111", "222222", "333333"):
        client.post(reverse("two-factor-verify"), {"otp_token": guess})
    right = client.post(reverse("two-factor-verify"), {"otp_token": code_for(device)})
    assert right.status_code == 400  # the device waits after failures, even for a right code


def test_a_password_only_session_cannot_use_the_api_instead():
    """The API also accepts the browser's session: an unverified decider's session gets a
    JSON refusal there, not a way around the second factor."""
    avery = make_user("avery", access.ROLE_APPROVERS)
    enrolled(avery)
    client = signed_in("avery")
    response = client.get("/api/2.0/mlflow/registered-models/search")
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"
