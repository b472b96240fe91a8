"""Issue 20: service accounts for pipelines, owned by a team, acting through API tokens only.

The attackers (docs/architecture.md, "Service accounts"): someone who learnt or set a
service account's password (an admin who typed one in the admin, a leaked fixture) and
tries to sign in as it by the password form or the admin; a data scientist of another
team, or a team member who manages none of its models, who mints a token for a team's
service account to act as it; an auditor who tries to. Single sign-on is covered in
tests/identity/test_service_account_sso.py."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from governance import access
from governance.models import AuditEvent, PersonalToken, ServiceAccount
from governance.services.service_accounts import (
    service_account_create,
    service_account_deactivate,
    service_account_token_create,
    service_account_token_revoke,
    service_accounts_for,
)
from governance.services.tokens import authenticate, token_create
from tests.conftest import client_for
from tests.factories import make_model, make_team, make_user

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a-password-someone-set-1"
SEARCH = "/api/2.0/mlflow/registered-models/search"


@pytest.fixture
def world():
    fraud, credit = make_team("Fraud analytics"), make_team("Credit risk")
    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS, fraud.name)
    model = make_model(dana, name="fraud-detector", team=fraud)
    sam = make_user("sam", access.ROLE_DATA_SCIENTISTS, fraud.name)  # member, manages nothing
    access.grant(model, "change", user=sam)
    olga = make_user("olga", access.ROLE_DATA_SCIENTISTS, credit.name)
    make_model(olga, name="credit-scorer", team=credit)  # manages her own team's model
    admin = make_user("ada", access.ROLE_REGISTRY_ADMINS)
    auditor = make_user("aude", access.ROLE_AUDITORS)
    account = service_account_create(
        actor=dana, team=fraud, username="svc-fraud-training", description="nightly training"
    )
    return {
        "fraud": fraud,
        "credit": credit,
        "dana": dana,
        "sam": sam,
        "olga": olga,
        "admin": admin,
        "auditor": auditor,
        "account": account,
        "model": model,
    }


def _given_a_password_and_staff(account):
    """What a careless admin could do in the admin: nothing of it may open a sign-in."""
    user = account.user
    user.set_password(PASSWORD)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


# --- No sign-in by any route -------------------------------------------------------------


def test_a_new_service_account_has_no_usable_password_and_no_group(world):
    user = world["account"].user
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser
    assert not user.groups.exists()
    event = AuditEvent.objects.get(action="service_account.create")
    assert event.actor_username == "dana" and event.after["team"] == "Fraud analytics"


def test_a_service_account_cannot_sign_in_with_a_password_even_if_one_was_set(world, client):
    _given_a_password_and_staff(world["account"])
    response = client.post(
        reverse("login"), {"username": "svc-fraud-training", "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert client.get("/models/").status_code == 302


def test_a_service_account_cannot_sign_in_to_the_admin(world, client):
    _given_a_password_and_staff(world["account"])
    # The admin has no sign-in of its own: it sends to the password form, which refuses.
    to_form = client.get("/admin/login/?next=/admin/")
    assert to_form.status_code == 302 and to_form["Location"].startswith(reverse("login"))
    client.post(
        to_form["Location"],
        {"username": "svc-fraud-training", "password": PASSWORD, "next": "/admin/"},
    )
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_session_of_a_service_account_is_refused_at_the_next_request(world):
    # No sign-in makes one; a session planted some other way (a test helper, a copied
    # cookie from before the account became a service account) is still worthless.
    client = client_for(world["account"].user)
    response = client.get("/models/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_service_accounts_tokens_work_on_the_api(world, client):
    access.grant(world["model"], "view", user=world["account"].user)
    _, raw = service_account_token_create(
        actor=world["dana"], account=world["account"], name="ci", scope="read"
    )
    response = client.get(SEARCH, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert [m["name"] for m in response.json()["registered_models"]] == ["fraud-detector"]


# --- Who may mint its tokens ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["olga", "sam", "auditor"])
def test_others_cannot_mint_a_token_for_the_teams_service_account(world, who):
    actor = world[who]
    with pytest.raises(PermissionDenied):
        service_account_token_create(
            actor=actor, account=world["account"], name="mine now", scope="write"
        )
    with pytest.raises(PermissionDenied):  # nor through the personal-token service
        token_create(actor=actor, user=world["account"].user, name="mine now", scope="write")
    assert not PersonalToken.objects.filter(user=world["account"].user).exists()


@pytest.mark.parametrize("who", ["olga", "sam", "auditor"])
def test_others_cannot_mint_through_the_page_nor_see_the_account(world, who):
    client = client_for(world[who])
    url = reverse("governance:service-account-detail", args=[world["account"].pk])
    assert client.get(url).status_code == 404
    response = client.post(url, {"name": "mine now", "scope": "write"})
    assert response.status_code == 404
    assert not PersonalToken.objects.filter(user=world["account"].user).exists()
    listing = client.get(reverse("governance:service-account-list"))
    assert b"svc-fraud-training" not in listing.content


def test_others_cannot_create_a_service_account_for_a_team_they_do_not_manage(world):
    for who in ("olga", "sam", "auditor"):
        with pytest.raises(PermissionDenied):
            service_account_create(actor=world[who], team=world["fraud"], username="svc-x")
    assert not User.objects.filter(username="svc-x").exists()
    # Through the page: the team is not among the choices, so the form refuses it.
    client = client_for(world["olga"])
    response = client.post(
        reverse("governance:service-account-list"),
        {"username": "svc-x", "team": world["fraud"].pk, "description": "x"},
    )
    assert response.status_code == 400
    assert b"svc-x" in response.content  # the input is kept
    assert not User.objects.filter(username="svc-x").exists()


def test_the_teams_manager_and_admins_mint_and_revoke_on_the_page(world):
    for who in ("dana", "admin"):
        client = client_for(world[who])
        url = reverse("governance:service-account-detail", args=[world["account"].pk])
        response = client.post(url, {"name": f"by {who}", "scope": "write"})
        assert response.status_code == 200
        token = PersonalToken.objects.get(user=world["account"].user, name=f"by {who}")
        assert response.context["created"]["raw"].startswith("attest_")
        assert response["Cache-Control"] == "no-store"
        revoke = reverse(
            "governance:service-account-token-revoke", args=[world["account"].pk, token.pk]
        )
        assert client.post(revoke).status_code == 302
        token.refresh_from_db()
        assert token.revoked_by == world[who]
    actions = list(
        AuditEvent.objects.filter(action__startswith="token.").values_list("action", "actor")
    )
    assert [a for a, _ in actions] == ["token.create", "token.revoke"] * 2


def test_others_cannot_revoke_its_tokens(world):
    token, _ = service_account_token_create(
        actor=world["dana"], account=world["account"], name="ci", scope="read"
    )
    with pytest.raises(PermissionDenied):
        service_account_token_revoke(actor=world["olga"], account=world["account"], token=token)
    client = client_for(world["olga"])
    url = reverse("governance:service-account-token-revoke", args=[world["account"].pk, token.pk])
    assert client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_deactivating_stops_its_tokens(world):
    _, raw = service_account_token_create(
        actor=world["dana"], account=world["account"], name="ci", scope="read"
    )
    assert authenticate(raw) is not None
    with pytest.raises(PermissionDenied):
        service_account_deactivate(actor=world["olga"], account=world["account"])
    service_account_deactivate(actor=world["dana"], account=world["account"])
    assert authenticate(raw) is None
    with pytest.raises(ValidationError):
        service_account_token_create(
            actor=world["dana"], account=world["account"], name="again", scope="read"
        )
    assert AuditEvent.objects.filter(action="service_account.deactivate").count() == 1


def test_the_list_shows_each_manager_their_teams_accounts(world):
    assert list(service_accounts_for(world["dana"])) == [world["account"]]
    assert list(service_accounts_for(world["admin"])) == [world["account"]]
    assert not service_accounts_for(world["olga"]).exists()
    assert not service_accounts_for(world["auditor"]).exists()
    assert ServiceAccount.objects.count() == 1
