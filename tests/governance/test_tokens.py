"""Personal API tokens: shown once, stored hashed, scoped, expiring, revocable, audited."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent, PersonalToken
from governance.services.tokens import (
    authenticate,
    hash_token,
    token_create,
    token_from_header,
    token_revoke,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SEARCH = "/api/2.0/mlflow/registered-models/search"


def test_token_is_stored_hashed_and_authenticates(scientist):
    token, raw = token_create(actor=scientist, name="ci", scope="write")
    assert raw.startswith("attest_") and raw not in str(PersonalToken.objects.values())
    assert token.token_hash == hash_token(raw)
    assert authenticate(raw).user == scientist
    assert authenticate(raw + "x") is None
    token.refresh_from_db()
    assert token.last_used_at is not None
    event = AuditEvent.objects.get(action="token.create")
    assert raw not in str(event.after) and event.after["prefix"] == token.prefix


def test_bearer_and_basic_auth(client, scientist, model):
    _token, raw = token_create(actor=scientist, name="ci")
    assert client.get(SEARCH, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    basic = base64.b64encode(f"dana:{raw}".encode()).decode()
    assert client.get(SEARCH, HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 200
    wrong_user = base64.b64encode(f"olga:{raw}".encode()).decode()
    response = client.get(SEARCH, HTTP_AUTHORIZATION=f"Basic {wrong_user}")
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert client.get(SEARCH).status_code == 401


def test_expired_and_revoked_tokens_are_refused(scientist):
    token, raw = token_create(
        actor=scientist, name="short", expires_at=timezone.now() + timedelta(days=1)
    )
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    assert authenticate(raw) is None
    token2, raw2 = token_create(actor=scientist, name="other")
    token_revoke(actor=scientist, token=token2)
    assert authenticate(raw2) is None
    assert token_from_header(f"Bearer {raw2}") == (True, None)


def test_inactive_owner_cannot_use_token(scientist):
    _token, raw = token_create(actor=scientist, name="ci")
    scientist.is_active = False
    scientist.save()
    assert authenticate(raw) is None


def test_only_admins_revoke_others_tokens(scientist, other_scientist, registry_admin):
    token, _ = token_create(actor=scientist, name="ci")
    with pytest.raises(PermissionDenied):
        token_revoke(actor=other_scientist, token=token)
    token_revoke(actor=registry_admin, token=token)
    token.refresh_from_db()
    assert token.revoked_by == registry_admin
    assert AuditEvent.objects.filter(action="token.revoke", actor=registry_admin).exists()


def test_profile_page_creates_shows_once_and_lists(scientist):
    client = client_for(scientist)
    url = reverse("governance:token-list")
    response = client.post(url, {"name": "training", "scope": "write", "expires_at": ""})
    assert response.status_code == 200
    raw = response.context["created"]["raw"]
    assert raw.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    again = client.get(url)
    assert raw.encode() not in again.content and b"training" in again.content
    token = PersonalToken.objects.get(user=scientist)
    assert token.scope == "write"
    client.post(reverse("governance:token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_profile_page_form_errors_keep_input(scientist):
    response = client_for(scientist).post(
        reverse("governance:token-list"), {"name": "", "scope": "write", "expires_at": "2000-01-01"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"name", "expires_at"}
    assert not PersonalToken.objects.exists()


def test_cannot_revoke_someone_elses_token_from_the_page(scientist, other_scientist):
    token, _ = token_create(actor=scientist, name="ci")
    response = client_for(other_scientist).post(reverse("governance:token-revoke", args=[token.pk]))
    assert response.status_code == 404


def test_admin_page_lists_everyones_tokens(scientist, registry_admin):
    token_create(actor=scientist, name="dana-ci")
    assert client_for(scientist).get(reverse("governance:token-list-all")).status_code == 403
    response = client_for(registry_admin).get(reverse("governance:token-list-all"))
    assert response.status_code == 200 and b"dana-ci" in response.content


def test_anonymous_is_sent_to_login():
    response = client_for(None).get(reverse("governance:token-list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_auditor_may_only_create_read_only_tokens(auditor):
    client = client_for(auditor)
    response = client.post(reverse("governance:token-list"), {"name": "x", "scope": "write"})
    assert response.status_code == 400
    response = client.post(reverse("governance:token-list"), {"name": "x", "scope": "read"})
    assert response.status_code == 200


def test_create_api_token_command(scientist):
    out = StringIO()
    call_command("create_api_token", "dana", "--name", "deploy", stdout=out)
    raw = out.getvalue().strip()
    token = authenticate(raw)
    assert token.user == scientist and token.scope == "write" and token.name == "deploy"
    event = AuditEvent.objects.get(action="token.create")
    assert event.source == "cli"


def test_read_only_token_write_is_refused(client, scientist, model):
    _token, raw = token_create(actor=scientist, name="ro", scope="read")
    response = client.post(
        "/api/2.0/mlflow/registered-models/set-tag",
        {"name": "fraud-detector", "key": "k", "value": "v"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"


def test_session_writes_need_csrf(scientist, model):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(scientist)
    assert client.get(SEARCH).status_code == 200
    response = client.post(
        "/api/2.0/mlflow/registered-models/set-tag",
        {"name": "fraud-detector", "key": "k", "value": "v"},
        content_type="application/json",
    )
    assert response.status_code == 403
