"""Issue 14, a sign-in flood: a locked-out attempt costs almost nothing.

Attacker: an anonymous or hostile client flooding the sign-in form (many addresses, many
usernames) to slow everyone else down. Once axes has locked a username or an address, the
sign-in gate (governance.signin_gate) refuses further attempts from one cache read: no
query, no session, no password hash, no template render; axes stays the source of truth."""

import time
from io import StringIO
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from governance import signin_gate
from governance.auth_backends import ExpiringModelBackend
from governance.models import AuditEvent
from governance.signin import signin_unlock
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"
LOGIN = "/accounts/login/"


def sign_in(client, username, password, ip="10.0.0.1", path=LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def lock(username="dana", ip="10.7.0.1"):
    for _ in range(5):
        sign_in(Client(), username, "guess", ip=ip)


def test_locked_username_is_refused_without_a_query(scientist, django_assert_num_queries):
    lock()
    with django_assert_num_queries(0):
        response = sign_in(Client(), "dana", PASSWORD, ip="10.7.9.9")  # another address
    assert response.status_code == 429
    html = response.content.decode()
    assert "Sign in to Attest" in html and "locked" in html and "15 minutes" in html
    assert 'value="dana"' in html and 'name="csrfmiddlewaretoken"' in html
    assert int(response["Retry-After"]) in (899, 900)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "_auth_user_id" not in Client().session


def test_locked_address_is_refused_for_any_username_without_a_query(
    scientist, other_scientist, django_assert_num_queries
):
    for n in range(5):
        sign_in(Client(), f"nobody{n}", "guess", ip="10.7.1.1")
    with django_assert_num_queries(0):
        assert sign_in(Client(), "olga", PASSWORD, ip="10.7.1.1").status_code == 429
    assert sign_in(Client(), "olga", PASSWORD, ip="10.7.1.2").status_code == 302


def test_the_page_is_prerendered_not_rendered_per_attempt(scientist):
    lock()
    sign_in(Client(), "dana", "guess")  # the page is rendered once per process
    with mock.patch("django.template.loader.render_to_string") as render:
        response = sign_in(Client(), "dana", "guess")
    assert response.status_code == 429 and not render.called


def test_username_spellings_the_form_would_clean_are_refused_too(
    scientist, django_assert_num_queries
):
    lock()
    with django_assert_num_queries(0):
        # Surrounding spaces and a full-width spelling: the form cleans both to "dana".
        assert sign_in(Client(), "  dana ", "guess", ip="10.7.9.8").status_code == 429
        assert sign_in(Client(), "ｄａｎａ", "guess", ip="10.7.9.7").status_code == 429


def test_the_refusal_escapes_what_the_client_posted(db):
    lock(username='<script>x"', ip="10.7.2.1")
    response = Client().post(
        LOGIN, {"username": '<script>x"', "password": "p", "next": '"><b>'}, REMOTE_ADDR="10.7.2.1"
    )
    assert response.status_code == 429
    assert b"<script>x" not in response.content and b'"><b>' not in response.content


def test_admin_sign_in_is_gated_too(scientist, django_assert_num_queries):
    lock()
    with django_assert_num_queries(0):
        response = sign_in(Client(), "dana", PASSWORD, path=reverse("admin:login"))
    assert response.status_code == 429


def test_the_sign_in_page_itself_and_other_users_are_untouched(scientist, other_scientist):
    lock(ip="10.7.3.1")
    assert Client().get(LOGIN, REMOTE_ADDR="10.7.3.1").status_code == 200
    assert sign_in(Client(), "olga", PASSWORD, ip="10.7.3.2").status_code == 302


def test_lock_lifts_after_the_cooloff(scientist):
    from datetime import timedelta

    from django.utils import timezone

    lock()
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    with mock.patch("governance.signin_gate._now", return_value=time.time() + 15 * 60 + 1):
        assert sign_in(Client(), "dana", PASSWORD).status_code == 302


def test_the_copy_never_outlasts_axes_lock_spread_over_addresses(scientist):
    """Five failures from five addresses over time: axes lifts the lock a cool-off after
    the oldest of the five, so the copy must say that too, not a cool-off from the last."""
    from datetime import timedelta

    from django.utils import timezone

    for n in range(5):
        sign_in(Client(), "dana", "guess", ip=f"10.7.4.{n}")
    oldest = AccessAttempt.objects.order_by("attempt_time").first()
    AccessAttempt.objects.filter(pk=oldest.pk).update(
        attempt_time=timezone.now() - timedelta(minutes=10)
    )
    cache.clear()  # another process: learns the lock when axes refuses the next attempt
    assert sign_in(Client(), "dana", PASSWORD, ip="10.7.4.9").status_code == 429
    response = sign_in(Client(), "dana", PASSWORD, ip="10.7.4.9")
    assert response.status_code == 429 and int(response["Retry-After"]) <= 5 * 60
    with mock.patch("governance.signin_gate._now", return_value=time.time() + 5 * 60 + 1):
        AccessAttempt.objects.filter(pk=oldest.pk).update(
            attempt_time=timezone.now() - timedelta(minutes=16)
        )
        assert sign_in(Client(), "dana", PASSWORD, ip="10.7.4.9").status_code == 302


def test_admin_unlock_clears_the_copy(scientist, registry_admin):
    lock(ip="10.7.5.1")
    url = reverse("admin:axes_accessattempt_changelist")
    attempt = AccessAttempt.objects.get(username="dana")
    client_for(registry_admin).post(
        url, {"action": "unlock_usernames", "_selected_action": [attempt.pk]}
    )
    assert cache.get(signin_gate._key("username", "dana")) is None
    assert sign_in(Client(), "dana", PASSWORD, ip="10.7.5.2").status_code == 302


def test_unlock_command_clears_the_copy_of_an_address(scientist):
    from django.core.management import call_command

    lock(username="nobody", ip="10.7.5.9")
    assert sign_in(Client(), "dana", PASSWORD, ip="10.7.5.9").status_code == 429
    call_command("unlock_signin", "--address", "10.7.5.9", stdout=StringIO())
    assert cache.get(signin_gate._key("address", "10.7.5.9")) is None
    assert sign_in(Client(), "dana", PASSWORD, ip="10.7.5.9").status_code == 302


def test_an_unlock_in_another_process_reaches_this_ones_copy(scientist, registry_admin):
    """Per-process caches (LocMem): the unlock cannot delete this process's copy, but it
    touches the unlock stamp, and copies older than the stamp are not trusted."""
    lock(ip="10.7.6.1")
    key = signin_gate._key("username", "dana")
    copy = cache.get(key)
    assert copy is not None
    signin_unlock(actor=registry_admin, username="dana")
    cache.set(key, copy, timeout=600)  # this process still holds it
    assert sign_in(Client(), "dana", PASSWORD, ip="10.7.6.2").status_code == 302


def test_lockouts_stay_audited_once_with_the_gate_and_in_every_process(scientist):
    for _ in range(12):  # 5 to lock, 7 refused by the gate
        sign_in(Client(), "dana", "guess", ip="10.7.7.1")
    cache.clear()  # a second process, which has not seen the lock
    for _ in range(3):
        assert sign_in(Client(), "dana", "guess", ip="10.7.7.1").status_code == 429
    events = AuditEvent.objects.filter(action="auth.lockout")
    assert sorted((e.after["kind"], e.after["value"]) for e in events) == [
        ("address", "10.7.7.1"),
        ("username", "dana"),
    ]


def test_a_cache_outage_falls_back_to_axes(scientist):
    lock()
    with mock.patch.object(cache, "get_many", side_effect=ConnectionError("cache down")):
        response = sign_in(Client(), "dana", PASSWORD)
    assert response.status_code == 429 and "locked" in response.content.decode()


def test_one_address_hashes_at_most_the_failure_limit_of_passwords(scientist):
    """Ordering: axes' check runs before the backend that hashes, so a flood of usernames
    from one address costs AXES_FAILURE_LIMIT hashes and no more."""
    calls = []
    original = ExpiringModelBackend.authenticate

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    with mock.patch.object(ExpiringModelBackend, "authenticate", counting):
        for n in range(20):
            sign_in(Client(), f"victim{n}", "guess", ip="10.7.8.1")
        sign_in(Client(), "dana", PASSWORD, ip="10.7.8.1")
    assert len(calls) == 5


def test_one_username_from_many_addresses_hashes_at_most_the_failure_limit(scientist):
    calls = []
    original = ExpiringModelBackend.authenticate

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    with mock.patch.object(ExpiringModelBackend, "authenticate", counting):
        for n in range(20):
            sign_in(Client(), "dana", "guess", ip=f"10.7.9.{n}")
    assert len(calls) == 5


# --- Password hashes at low CPU priority ---------------------------------------------


def test_production_settings_hash_passwords_at_low_priority():
    import config.settings as production

    assert production.PASSWORD_HASHERS[0] == "governance.hashers.LowPriorityPBKDF2PasswordHasher"
    assert production.ATTEST_PASSWORD_HASH_NICE == 19


def test_low_priority_hashes_are_djangos_pbkdf2_and_run_niced():
    import os
    import threading

    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from governance.hashers import LowPriorityPBKDF2PasswordHasher

    ours, django = LowPriorityPBKDF2PasswordHasher(), PBKDF2PasswordHasher()
    salt = "s4ltS4ltS4ltS4lt"
    assert ours.encode("pw", salt, 1000) == django.encode("pw", salt, 1000)
    assert ours.verify("pw", django.encode("pw", salt, 1000))  # stored hashes still verify
    assert not ours.verify("other", django.encode("pw", salt, 1000))
    seen, baseline = [], os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def spy(self, *args):
        seen.append((threading.get_native_id(), os.sched_getscheduler(0)))
        return "x"

    with mock.patch.object(PBKDF2PasswordHasher, "encode", spy):
        ours.encode("pw", salt, 1000)
    (thread, policy), request_thread = seen[0], threading.get_native_id()
    assert thread != request_thread
    assert os.getpriority(os.PRIO_PROCESS, thread) == 19 and policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE
    assert os.getpriority(os.PRIO_PROCESS, request_thread) == baseline  # untouched
