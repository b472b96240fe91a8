"""Issue 14 (hostile input and abuse): password guessing, token guessing, login floods,
spoofed client addresses, long-lived sessions and auditors' tokens.

Attackers: an anonymous or hostile client (guesses passwords and tokens, floods the sign-in
form, writes X-Forwarded-For) and a governed user (an auditor after a read-write token)."""

import time
from io import StringIO
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse

from governance import audit, sessions
from governance.models import AuditEvent, FailedSignIn, PersonalToken
from governance.services import tokens
from governance.services.tokens import authenticate, token_create
from governance.signin import failed_signins_fold
from tests.conftest import client_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"
LOGIN = "/accounts/login/"
SEARCH = "/api/2.0/mlflow/registered-models/search"
SET_TAG = "/api/2.0/mlflow/registered-models/set-tag"


def sign_in(client, username, password, ip="10.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Throttled sign-in (django-axes) ---------------------------------------------------


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(scientist):
    client = Client()
    for _ in range(5):
        assert sign_in(client, "dana", "guess").status_code in (200, 429)
    response = sign_in(client, "dana", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    html = response.content.decode()
    # The sign-in page with a clear message, not a bare 403.
    assert "Sign in to Attest" in html and "locked" in html and "15 minutes" in html
    assert 'value="dana"' in html
    assert response["Retry-After"] == str(15 * 60)


def test_lockout_is_by_username_from_any_address(scientist):
    client = Client()
    for n in range(5):
        sign_in(client, "dana", "guess", ip=f"10.0.1.{n}")  # a new address each time
    assert sign_in(Client(), "dana", PASSWORD, ip="10.9.9.9").status_code == 429


def test_lockout_is_by_address_for_any_username(scientist, other_scientist):
    for n in range(5):
        sign_in(Client(), f"nobody{n}", "guess", ip="10.0.2.1")  # a new username each time
    assert sign_in(Client(), "olga", PASSWORD, ip="10.0.2.1").status_code == 429
    # Another address and account are unaffected.
    client = Client()
    assert sign_in(client, "olga", PASSWORD, ip="10.0.2.2").status_code == 302
    assert signed_in(client)


def test_four_failures_do_not_lock(scientist):
    client = Client()
    for _ in range(4):
        assert sign_in(client, "dana", "guess").status_code == 200
    assert sign_in(client, "dana", PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failure_limit_is_configurable(scientist):
    for _ in range(3):
        sign_in(Client(), "dana", "guess")
    assert sign_in(Client(), "dana", PASSWORD).status_code == 429


def test_lock_lifts_after_the_cooloff(scientist):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(5):
        sign_in(Client(), "dana", "guess")
    assert sign_in(Client(), "dana", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    # The sign-in gate's copy of the lock (governance.signin_gate) runs on the clock too.
    later = time.time() + 16 * 60
    with mock.patch("governance.signin_gate._now", return_value=later):
        assert sign_in(Client(), "dana", PASSWORD).status_code == 302


def test_each_lockout_is_one_audit_event(scientist):
    for _ in range(12):  # 5 to lock, 7 more while locked
        sign_in(Client(), "dana", "guess", ip="10.0.3.1")
    events = AuditEvent.objects.filter(action="auth.lockout")
    # One for the username, one for the address; none for the 7 attempts while locked.
    assert sorted((e.after["kind"], e.after["value"]) for e in events) == [
        ("address", "10.0.3.1"),
        ("username", "dana"),
    ]
    assert {e.client_ip for e in events} == {"10.0.3.1"}


def test_registry_admin_unlocks_in_the_admin_and_it_is_audited(scientist, registry_admin):
    for _ in range(5):
        sign_in(Client(), "dana", "guess", ip="10.0.4.1")
    admin = client_for(registry_admin)
    url = reverse("admin:axes_accessattempt_changelist")
    response = admin.get(url)
    assert response.status_code == 200 and b"dana" in response.content
    attempt = AccessAttempt.objects.get(username="dana")
    response = admin.post(
        url, {"action": "unlock_usernames", "_selected_action": [attempt.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not AccessAttempt.objects.filter(username="dana").exists()
    event = AuditEvent.objects.get(action="auth.unlock")
    assert event.actor_username == "ada" and event.after["username"] == "dana"
    assert sign_in(Client(), "dana", PASSWORD, ip="10.0.4.2").status_code == 302


def test_only_registry_admins_reach_the_lockout_admin(scientist, auditor):
    url = reverse("admin:axes_accessattempt_changelist")
    assert client_for(scientist).get(url).status_code == 403
    assert client_for(auditor).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302


def test_unlock_command_is_audited(scientist):
    for _ in range(5):
        sign_in(Client(), "dana", "guess", ip="10.0.5.1")
    out = StringIO()
    call_command("unlock_signin", "--username", "dana", stdout=out)
    assert "Unlocked" in out.getvalue()
    event = AuditEvent.objects.get(action="auth.unlock")
    assert event.source == "cli"
    with pytest.raises(CommandError):
        call_command("unlock_signin")


def test_superuser_can_still_sign_in_through_the_backends_in_order(db):
    from django.conf import settings

    assert settings.AUTHENTICATION_BACKENDS[:2] == [
        "governance.auth_backends.ThrottledSignInBackend",
        "governance.auth_backends.ExpiringModelBackend",
    ]
    make_user("root", password=PASSWORD)
    assert sign_in(Client(), "root", PASSWORD).status_code == 302


# --- Failed sign-ins do not take the chain lock -----------------------------------------


def test_failed_sign_in_writes_no_audit_event_and_takes_no_chain_lock(scientist, audit_count):
    with mock.patch.object(audit, "_locked_head", side_effect=AssertionError("chain lock")):
        response = sign_in(Client(), "dana", "guess")
    assert response.status_code == 200
    assert audit_count() == 0
    pending = FailedSignIn.objects.get()
    assert (pending.username, pending.client_ip) == ("dana", "10.0.0.1")


def test_fold_writes_the_waiting_failures_as_one_chained_event(scientist, audit_count):
    for n in range(3):
        sign_in(Client(), "dana", "guess", ip=f"10.0.6.{n}")
    assert audit_count() == 0
    assert failed_signins_fold() == 3
    assert audit_count() == 1 and not FailedSignIn.objects.exists()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.after["count"] == 3
    assert [a[1:3] for a in event.after["attempts"]] == [
        ["dana", "10.0.6.0"],
        ["dana", "10.0.6.1"],
        ["dana", "10.0.6.2"],
    ]
    assert audit.verify_chain()[1:] == (None, "")
    assert failed_signins_fold() == 0  # nothing twice


@override_settings(ATTEST_FAILED_SIGNIN_BATCH=3)
def test_a_full_batch_is_folded_inline(scientist):
    for n in range(3):
        sign_in(Client(), f"x{n}", "guess", ip=f"10.0.7.{n}")
    assert AuditEvent.objects.get(action="auth.login_failed").after["count"] == 3
    assert not FailedSignIn.objects.exists()


def test_old_failures_are_folded_by_the_next_sign_in(scientist):
    from datetime import timedelta

    from django.utils import timezone

    sign_in(Client(), "dana", "guess")
    FailedSignIn.objects.update(occurred_at=timezone.now() - timedelta(minutes=2))
    assert sign_in(Client(), "dana", PASSWORD).status_code == 302
    assert AuditEvent.objects.get(action="auth.login_failed").after["count"] == 1


def test_fold_task_and_command(scientist):
    from governance.tasks import fold_failed_signins

    sign_in(Client(), "dana", "guess")
    assert fold_failed_signins() == {"folded": 1}
    sign_in(Client(), "dana", "guess")
    out = StringIO()
    call_command("fold_failed_signins", stdout=out)
    assert "Folded 1" in out.getvalue()


# --- Failed API tokens: per-address rate limit ------------------------------------------


def bearer(client, raw, ip, path=SEARCH):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=ip)


@override_settings(ATTEST_API_TOKEN_FAILURE_LIMIT=5, ATTEST_API_TOKEN_FAILURE_WINDOW_SECONDS=60)
def test_wrong_tokens_from_one_address_are_answered_429(client, scientist, model):
    _token, good = token_create(actor=scientist, name="ci", scope="read")
    for n in range(5):
        response = bearer(client, f"attest_guess{n}", "10.1.0.1")
        assert response.status_code == 401
    response = bearer(client, "attest_guess", "10.1.0.1")
    assert response.status_code == 429
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Refused before any lookup: even the right token waits out the window from there.
    assert bearer(client, good, "10.1.0.1").status_code == 429
    # Another address is not affected.
    assert bearer(client, good, "10.1.0.2").status_code == 200
    # Basic auth (what the mlflow client sends) counts too.
    import base64

    basic = base64.b64encode(b"dana:attest_wrong").decode()
    resp = client.get(SEARCH, HTTP_AUTHORIZATION=f"Basic {basic}", REMOTE_ADDR="10.1.0.1")
    assert resp.status_code == 429


@override_settings(ATTEST_API_TOKEN_FAILURE_LIMIT=2, ATTEST_API_TOKEN_FAILURE_WINDOW_SECONDS=60)
def test_token_window_ends(client, scientist, model):
    _token, good = token_create(actor=scientist, name="ci", scope="read")
    bearer(client, "attest_a", "10.1.1.1")
    bearer(client, "attest_b", "10.1.1.1")
    assert bearer(client, good, "10.1.1.1").status_code == 429
    from django.core.cache import cache

    cache.delete_many(["attest:tokenfail:10.1.1.1", "attest:tokenfail-start:10.1.1.1"])
    assert bearer(client, good, "10.1.1.1").status_code == 200


def test_good_tokens_are_not_counted(client, scientist, model):
    _token, good = token_create(actor=scientist, name="ci", scope="read")
    for _ in range(30):
        assert bearer(client, good, "10.1.2.1").status_code == 200


def test_a_cache_outage_does_not_break_the_api(client, scientist, model):
    _token, good = token_create(actor=scientist, name="ci", scope="read")
    with mock.patch.object(tokens, "cache") as broken:
        broken.get_many.side_effect = ConnectionError("down")
        broken.add.side_effect = ConnectionError("down")
        assert bearer(client, good, "10.1.3.1").status_code == 200
        assert bearer(client, "attest_x", "10.1.3.1").status_code == 401


# --- Proxies ---------------------------------------------------------------------------


@override_settings(ATTEST_TRUSTED_PROXY_COUNT=1)
def test_client_supplied_leftmost_address_is_never_recorded_behind_one_proxy(scientist):
    client = Client()
    # The client wrote 6.6.6.6; the proxy appended the address it saw.
    forwarded = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    assert sign_in(client, "dana", PASSWORD, ip="127.0.0.1", **forwarded).status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert event.client_ip == "203.0.113.9"
    sign_in(Client(), "dana", "guess", ip="127.0.0.1", **forwarded)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"  # axes reads the same
    assert FailedSignIn.objects.get().client_ip == "203.0.113.9"
    assert not AuditEvent.objects.filter(client_ip="6.6.6.6").exists()


@override_settings(ATTEST_TRUSTED_PROXY_COUNT=2)
def test_two_proxies_take_the_second_from_the_right(scientist):
    forwarded = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7, 10.0.0.2"}
    sign_in(Client(), "dana", PASSWORD, ip="10.0.0.3", **forwarded)
    assert AuditEvent.objects.get(action="auth.login").client_ip == "198.51.100.7"


def test_without_proxies_the_header_is_ignored(scientist):
    sign_in(Client(), "dana", PASSWORD, ip="192.0.2.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert AuditEvent.objects.get(action="auth.login").client_ip == "192.0.2.5"


@override_settings(ATTEST_TRUSTED_PROXY_COUNT=1)
def test_garbage_or_missing_forwarded_entries_fall_back_to_the_peer(scientist):
    sign_in(Client(), "dana", PASSWORD, ip="192.0.2.6", HTTP_X_FORWARDED_FOR="not-an-ip")
    sign_in(Client(), "dana", PASSWORD, ip="192.0.2.7")
    ips = list(AuditEvent.objects.filter(action="auth.login").values_list("client_ip", flat=True))
    assert sorted(ips) == ["192.0.2.6", "192.0.2.7"]


def test_trust_x_forwarded_for_still_means_one_proxy(monkeypatch):
    import importlib

    import config.settings as real

    monkeypatch.setenv("TRUST_X_FORWARDED_FOR", "true")
    monkeypatch.delenv("TRUSTED_PROXY_COUNT", raising=False)
    try:
        assert importlib.reload(real).ATTEST_TRUSTED_PROXY_COUNT == 1
        monkeypatch.setenv("TRUSTED_PROXY_COUNT", "2")
        assert importlib.reload(real).ATTEST_TRUSTED_PROXY_COUNT == 2
    finally:
        monkeypatch.undo()
        importlib.reload(real)


# --- Session lifetimes -----------------------------------------------------------------


class Clock:
    def __init__(self, start=1_800_000_000.0):
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(sessions, "_now", c)
    return c


def signed_in_client(username):
    client = Client()
    assert sign_in(client, username, PASSWORD).status_code == 302
    return client


def test_idle_session_is_signed_out_and_audited(clock, scientist):
    client = signed_in_client("dana")
    assert client.get("/models/").status_code == 200
    clock.now += 2 * 3600 + 1  # data scientists: 2 h idle
    response = client.get("/models/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert not signed_in(client)
    event = AuditEvent.objects.filter(action="auth.logout").get()
    assert event.after == {"reason": "idle"} and event.actor_username == "dana"
    page = client.get(response["Location"]).content.decode()
    assert "signed out after 120 minutes without activity" in page


def test_activity_keeps_the_session_until_its_absolute_lifetime(clock, scientist):
    client = signed_in_client("dana")
    for _ in range(7):  # 7 h of clicks, each within the idle limit
        clock.now += 3600
        assert client.get("/models/").status_code == 200
    clock.now += 3600  # 8 h after signing in
    response = client.get("/models/")
    assert response.status_code == 302 and not signed_in(client)
    assert AuditEvent.objects.get(action="auth.logout").after == {"reason": "expired"}
    assert "8-hour limit" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("role", ["Approvers", "Compliance", "Registry admins"])
def test_privileged_roles_idle_out_after_30_minutes(clock, role):
    make_user("priv", role)
    client = signed_in_client("priv")
    clock.now += 29 * 60
    assert client.get("/models/").status_code == 200
    clock.now += 31 * 60
    assert client.get("/models/").status_code == 302
    assert AuditEvent.objects.get(action="auth.logout").after == {"reason": "idle"}


@override_settings(ATTEST_SESSION_IDLE_TIMEOUT=600, ATTEST_SESSION_ABSOLUTE_LIFETIME=1200)
def test_lifetimes_are_configurable(clock, scientist):
    client = signed_in_client("dana")
    clock.now += 601
    assert client.get("/models/").status_code == 302


def test_htmx_request_is_sent_to_the_login_page(clock, scientist):
    client = signed_in_client("dana")
    clock.now += 3 * 3600
    response = client.get("/models/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == LOGIN


def test_session_cookie_does_not_outlive_the_absolute_lifetime():
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE == settings.ATTEST_SESSION_ABSOLUTE_LIFETIME == 8 * 3600


def test_sign_out_by_the_user_records_its_reason(scientist):
    client = signed_in_client("dana")
    client.post(reverse("logout"))
    assert AuditEvent.objects.get(action="auth.logout").after == {"reason": "signed out"}


# --- Auditors hold read-only tokens only --------------------------------------------------


def test_service_refuses_a_read_write_token_for_an_auditor(auditor, registry_admin):
    with pytest.raises(ValidationError, match="auditors can only hold read-only tokens"):
        token_create(actor=auditor, name="x", scope="write")
    # Nor may an admin issue one for them.
    with pytest.raises(ValidationError):
        token_create(actor=registry_admin, user=auditor, name="x", scope="write")
    assert not PersonalToken.objects.exists()


def test_profile_page_refuses_with_the_message_and_keeps_input(auditor):
    response = client_for(auditor).post(
        reverse("governance:token-list"), {"name": "mine", "scope": "write"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "auditors can only hold read-only tokens" in html and 'value="mine"' in html
    assert not PersonalToken.objects.exists()


def test_command_refuses_a_read_write_token_for_an_auditor(auditor):
    with pytest.raises(CommandError, match="read-only tokens.*--read-only"):
        call_command("create_api_token", "aude", "--name", "x", stdout=StringIO())
    assert not PersonalToken.objects.exists()
    out = StringIO()
    call_command("create_api_token", "aude", "--name", "x", "--read-only", stdout=out)
    assert authenticate(out.getvalue().strip()).scope == "read"


def test_api_refuses_writes_with_an_auditors_token_whatever_its_scope(client, auditor, model):
    # A read-write token written straight into the database (or held from before the
    # user became an auditor) still cannot write.
    token, raw = token_create(actor=auditor, name="x", scope="read")
    PersonalToken.objects.filter(pk=token.pk).update(scope="write")
    response = client.post(
        SET_TAG,
        {"name": "fraud-detector", "key": "k", "value": "v"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"


# --- Concurrent folds (PostgreSQL row locks) ----------------------------------------------


@pytest.mark.postgres
def test_concurrent_folds_chain_each_attempt_exactly_once(transactional_db):
    from django.db import connection

    from tests.governance.test_concurrency import run_together

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://... (CI does)")
    FailedSignIn.objects.bulk_create(
        FailedSignIn(username=f"u{n}", client_ip="10.2.0.1") for n in range(300)
    )
    results = run_together(*[lambda: failed_signins_fold(max_attempts=50)] * 4)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 300 and not FailedSignIn.objects.exists()
    listed = [
        a[1]
        for e in AuditEvent.objects.filter(action="auth.login_failed")
        for a in e.after["attempts"]
    ]
    assert sorted(listed) == sorted(f"u{n}" for n in range(300))
    assert audit.verify_chain()[1:] == (None, "")
