"""Issue 20: single sign-on through OpenID Connect, against a real provider on loopback.

The attacker model (docs/architecture.md, "Sign-in"): someone the company's identity
provider no longer vouches for (removed from the ML groups, or never in them) keeps
trying to use Attest; someone with a provider account named like a local Attest admin
tries to take that account over; a deployment that switched local passwords off still
has a person with an old password."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from governance.models import AuditEvent
from identity.models import ExternalIdentity
from tests.factories import make_user

pytestmark = pytest.mark.django_db
User = get_user_model()


def _groups(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def _actions(since: int) -> list[str]:
    return list(AuditEvent.objects.filter(pk__gt=since).values_list("action", flat=True))


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_first_sign_in_creates_the_account_with_roles_and_teams_from_claims(provider, sso_sign_in):
    provider.set_person(
        "u-1001",
        preferred_username="priya",
        email="priya@example.com",
        groups=["ml-scientists", "unrelated-group"],
        teams=["Fraud"],
    )
    mark = _last_event_id()
    client = Client()
    response = sso_sign_in(client, "u-1001", next_url="/models/")
    assert response.status_code == 302 and response["Location"] == "/models/"
    user = User.objects.get(username="priya")
    assert _groups(user) == {"Data scientists", "Fraud"}
    assert not user.has_usable_password()
    assert ExternalIdentity.objects.get(user=user).subject == "u-1001"
    assert client.get("/models/").status_code == 200
    assert _actions(mark) == ["auth.sso_account_create", "auth.sso_roles", "auth.login"]
    roles = AuditEvent.objects.get(pk__gt=mark, action="auth.sso_roles")
    assert roles.after == {"roles": ["Data scientists"], "teams": ["Fraud"]}


def test_leaving_a_group_at_the_provider_removes_the_role_at_the_next_sign_in(
    provider, sso_sign_in
):
    provider.set_person(
        "u-1002", preferred_username="avi", groups=["ml-scientists", "ml-approvers"]
    )
    sso_sign_in(Client(), "u-1002")
    user = User.objects.get(username="avi")
    assert _groups(user) == {"Data scientists", "Approvers"}
    provider.set_person("u-1002", preferred_username="avi", groups=["ml-scientists"])
    mark = _last_event_id()
    sso_sign_in(Client(), "u-1002")
    assert _groups(user) == {"Data scientists"}
    change = AuditEvent.objects.get(pk__gt=mark, action="auth.sso_roles")
    assert change.before["roles"] == ["Approvers", "Data scientists"]
    assert change.after["roles"] == ["Data scientists"]


def test_a_role_granted_by_hand_in_attest_does_not_survive_the_next_sign_in(provider, sso_sign_in):
    """The provider is the source of truth for its people: an admin's manual grant of a
    role group is replaced at sign-in (and the change audited), not kept silently."""
    provider.set_person("u-1003", preferred_username="ben", groups=["ml-scientists"])
    sso_sign_in(Client(), "u-1003")
    user = User.objects.get(username="ben")
    user.groups.add(Group.objects.get_or_create(name="Registry admins")[0])
    sso_sign_in(Client(), "u-1003")
    assert _groups(user) == {"Data scientists"}


def test_someone_in_no_mapped_group_is_refused_and_no_account_is_made(provider, sso_sign_in):
    provider.set_person("u-2001", preferred_username="mallory", groups=["sales"])
    mark = _last_event_id()
    client = Client()
    response = sso_sign_in(client, "u-2001")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not User.objects.filter(username="mallory").exists()
    refused = AuditEvent.objects.get(pk__gt=mark, action="auth.sso_refused")
    assert refused.after["subject"] == "u-2001"
    assert "maps to an Attest role" in refused.after["reason"]
    page = client.get("/accounts/login/")
    assert b"Attest refused the sign-in" in page.content
    assert client.get("/models/").status_code == 302  # still signed out


def test_leaving_every_group_removes_the_roles_and_refuses_the_sign_in(provider, sso_sign_in):
    provider.set_person("u-2002", preferred_username="olga", groups=["ml-approvers"])
    sso_sign_in(Client(), "u-2002")
    user = User.objects.get(username="olga")
    assert _groups(user) == {"Approvers"}
    provider.set_person("u-2002", preferred_username="olga", groups=[])
    client = Client()
    sso_sign_in(client, "u-2002")
    assert _groups(user) == set()
    assert client.get("/models/").status_code == 302


def test_a_provider_account_named_like_a_local_admin_does_not_take_it_over(provider, sso_sign_in):
    admin = make_user("ada", "Registry admins")
    provider.set_person("u-6666", preferred_username="ada", groups=["ml-scientists"])
    mark = _last_event_id()
    client = Client()
    sso_sign_in(client, "u-6666")
    assert client.get("/models/").status_code == 302
    assert not ExternalIdentity.objects.exists()
    assert _groups(admin) == {"Registry admins"}
    refused = AuditEvent.objects.get(pk__gt=mark, action="auth.sso_refused")
    assert "not linked" in refused.after["reason"]


def test_the_account_is_found_by_subject_not_by_a_changed_username(provider, sso_sign_in):
    provider.set_person("u-3001", preferred_username="kim", groups=["ml-scientists"])
    sso_sign_in(Client(), "u-3001")
    provider.set_person("u-3001", preferred_username="kim.renamed", groups=["ml-scientists"])
    client = Client()
    sso_sign_in(client, "u-3001")
    assert User.objects.filter(username__startswith="kim").count() == 1
    assert client.get("/models/").status_code == 200


def test_a_callback_without_the_sessions_state_is_refused(provider, sso_sign_in):
    """A code minted for someone else's browser (login CSRF) does not sign this one in."""
    provider.set_person("u-4001", preferred_username="vic", groups=["ml-scientists"])
    victim, attacker = Client(), Client()
    start = attacker.get("/accounts/sso/start/")
    callback = provider.authorize(start["Location"], "u-4001")
    response = victim.get(callback)
    assert response.status_code in (302, 400)
    assert victim.get("/models/").status_code == 302


def test_a_provider_that_names_another_issuer_is_refused(provider, settings):
    """A discovery document at the configured URL that names a different issuer (a
    mistyped or spoofed URL, or a proxy in front of another provider) is not trusted."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from identity import oidc

    class Impostor(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"issuer": provider.url, "authorization_endpoint": "x"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.OIDC_ISSUER = f"http://127.0.0.1:{server.server_port}"
        oidc.forget_provider_config()
        client = Client()
        response = client.get("/accounts/sso/start/")
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"
        assert b"Single sign-on is unavailable" in client.get("/accounts/login/").content
        assert oidc._cache == {}  # nothing learned from the impostor
    finally:
        server.shutdown()


def test_an_unreachable_provider_is_a_message_not_an_error(settings, client):
    from identity import oidc

    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.OIDC_TIMEOUT = 2
    oidc.forget_provider_config()
    response = client.get("/accounts/sso/start/", follow=True)
    assert b"Single sign-on is unavailable" in response.content


def test_sign_out_ends_the_session_at_the_provider(provider, sso_sign_in):
    provider.set_person("u-5001", preferred_username="lee", groups=["ml-scientists"])
    client = Client()
    sso_sign_in(client, "u-5001")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{provider.url}/oauth2/end_session?id_token_hint=")
    assert (
        "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Faccounts%2Flogin%2F"
        in (response["Location"])
    )
    assert client.get("/models/").status_code == 302


def test_sign_in_page_offers_sso_only_when_configured(client, settings):
    settings.OIDC_ISSUER = ""
    assert b"Sign in with" not in client.get("/accounts/login/").content
    assert client.get("/accounts/sso/start/").status_code == 404
    settings.OIDC_ISSUER = "http://localhost:9"
    settings.OIDC_PROVIDER_NAME = "Contoso SSO"
    assert b"Sign in with Contoso SSO" in client.get("/accounts/login/").content


def test_local_passwords_off_refuses_everyone_but_break_glass(client, settings):
    make_user("dana", "Data scientists")
    make_user("ada", "Registry admins")
    settings.ATTEST_LOCAL_PASSWORDS = False
    settings.ATTEST_BREAK_GLASS_USERS = ["ada"]
    refused = client.post("/accounts/login/", {"username": "dana", "password": "pw-for-tests-1"})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    allowed = client.post("/accounts/login/", {"username": "ada", "password": "pw-for-tests-1"})
    assert allowed.status_code == 302
