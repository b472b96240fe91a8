"""The register form, the detail page and the read-only JSON API."""

import pytest

from aisystems.models import AISystem
from governance.models import AuditEvent, PersonalToken
from governance.services.tokens import token_create
from tests.aisystems.conftest import system_data
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_register_a_system_with_its_model(scientist, model, audit_count):
    client = client_for(scientist)
    audit_count.reset()
    data = system_data(
        operator_role="provider",
        annex_iii_category="essential_services",
        market_status="in_development",
        hardware="x86 servers, 4 vCPU",
        registered_models=[model.pk],
    )
    response = client.post("/ai-systems/new/", data)
    system = AISystem.objects.get()
    assert response.status_code == 302 and response["Location"] == system.get_absolute_url()
    assert audit_count() == 1
    event = AuditEvent.objects.latest("pk")
    assert (event.action, event.after["models"]) == ("aisystem.create", ["fraud-detector"])
    page = client.get(system.get_absolute_url()).content.decode()
    assert "x86 servers, 4 vCPU" in page and "Attest Bank SA" in page


def test_the_form_keeps_the_input_on_error(scientist, model, audit_count):
    client = client_for(scientist)
    audit_count.reset()
    data = system_data(
        operator_role="deployer",
        annex_iii_category="none",
        market_status="placed_on_market",
        hardware="GPU node",
    )
    response = client.post("/ai-systems/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Name the deployer" in page and "Give the date it was placed" in page
    assert "GPU node" in page and 'value="credit-decisions"' in page
    assert audit_count() == 0 and not AISystem.objects.exists()


def test_auditors_and_approvers_cannot_register(auditor, approver):
    for user in (auditor, approver):
        assert client_for(user).post("/ai-systems/new/", system_data()).status_code == 403
    assert not AISystem.objects.exists()


def _api(token):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_api_reads_through_restrict(system, scientist, other_scientist):
    _, mine = token_create(actor=scientist, name="ci", scope=PersonalToken.Scope.READ)
    _, theirs = token_create(actor=other_scientist, name="ci", scope=PersonalToken.Scope.READ)
    listed = _api(mine).get("/api/attest/ai-systems/").json()
    assert [s["name"] for s in listed["ai_systems"]] == ["credit-decisions"]
    detail = _api(mine).get(f"/api/attest/ai-systems/{system.pk}/").json()["ai_system"]
    assert detail["provider"]["name"] == "Attest Bank SA"
    assert [m["name"] for m in detail["models"]] == ["fraud-detector"]
    assert _api(theirs).get("/api/attest/ai-systems/").json()["ai_systems"] == []
    response = _api(theirs).get(f"/api/attest/ai-systems/{system.pk}/")
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_the_api_wants_a_valid_token_and_only_reads(system, scientist):
    from django.test import Client

    assert Client().get("/api/attest/ai-systems/").status_code == 401
    assert _api("not-a-token").get("/api/attest/ai-systems/").status_code == 401
    _, token = token_create(actor=scientist, name="ci", scope=PersonalToken.Scope.WRITE)
    response = _api(token).post(f"/api/attest/ai-systems/{system.pk}/", {})
    assert response.status_code == 405
    assert _api(token).get("/api/attest/ai-systems/?max_results=x").status_code == 400
