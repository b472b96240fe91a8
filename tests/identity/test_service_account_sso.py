"""Issue 20: a service account cannot sign in through single sign-on either.

The attacker: someone at the identity provider whose identity got linked to a service
account (by hand in the admin, or by a provider account named like it) tries to sign in
as the pipeline, and to give it the provider's groups on the way."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from governance.models import AuditEvent
from governance.services.service_accounts import service_account_create
from identity.models import ExternalIdentity
from tests.factories import make_model, make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    team = make_team("Fraud analytics")
    dana = make_user("dana", "Data scientists", team.name)
    make_model(dana, name="fraud-detector", team=team)
    return service_account_create(actor=dana, team=team, username="svc-fraud-training")


def test_an_identity_linked_to_a_service_account_does_not_sign_in_nor_change_its_groups(
    provider, sso_sign_in, account
):
    ExternalIdentity.objects.create(
        user=account.user, issuer=provider.url.rstrip("/"), subject="u-9001"
    )
    provider.set_person("u-9001", preferred_username="mallory", groups=["ml-approvers"])
    client = Client()
    sso_sign_in(client, "u-9001")
    assert "_auth_user_id" not in client.session
    assert client.get("/models/").status_code == 302
    assert not account.user.groups.exists()
    assert not Group.objects.get(name="Approvers").user_set.filter(pk=account.user.pk).exists()
    refused = AuditEvent.objects.filter(action="auth.sso_refused").latest("pk")
    assert refused.after["reason"] == "service accounts cannot sign in"


def test_a_provider_account_named_like_a_service_account_does_not_take_it_over(
    provider, sso_sign_in, account
):
    provider.set_person("u-9002", preferred_username="svc-fraud-training", groups=["grc"])
    client = Client()
    sso_sign_in(client, "u-9002")
    assert "_auth_user_id" not in client.session
    assert not ExternalIdentity.objects.exists()
    assert not account.user.groups.exists()
