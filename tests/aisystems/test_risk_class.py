"""The risk class lives on the system and its models inherit it, through each model's
governed change (attacker: a governed user who wants to weaken a control)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aisystems.models import AISystem
from aisystems.services import system_risk_class_set, system_update
from governance.models import AuditEvent, RiskClassChangeRequest
from governance.services.risk import risk_class_request_decide, risk_class_request_withdraw
from tests.conftest import client_for
from tests.factories import make_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_model(scientist, team):
    return make_model(scientist, name="credit-features", team=team)


@pytest.fixture
def two_model_system(system, scientist, second_model, model):
    return system_update(
        actor=scientist, system=system, data={}, registered_models=[model, second_model]
    )


def _classes(system):
    system.refresh_from_db()
    return system.risk_class, dict(system.registered_models.values_list("name", "risk_class"))


def test_raising_applies_to_every_model_at_once(two_model_system, scientist, audit_count):
    audit_count.reset()
    outcome = system_risk_class_set(
        actor=scientist, system=two_model_system, risk_class="high", rationale="Annex III 5(b)"
    )
    assert outcome["requested"] == []
    assert _classes(two_model_system) == (
        "high",
        {"fraud-detector": "high", "credit-features": "high"},
    )
    actions = list(AuditEvent.objects.order_by("-pk").values_list("action", flat=True)[:3])
    assert actions == ["aisystem.risk_class", "model.risk_class", "model.risk_class"]
    assert audit_count() == 3


def test_lowering_waits_for_compliance_and_the_requester_cannot_decide(
    two_model_system, scientist, cora, model, second_model
):
    from governance import access

    access.grant(model, "view", user=cora)
    access.grant(second_model, "view", user=cora)
    system_risk_class_set(
        actor=scientist, system=two_model_system, risk_class="high", rationale="Scores people"
    )
    outcome = system_risk_class_set(
        actor=scientist, system=two_model_system, risk_class="minimal", rationale="Cheaper"
    )
    assert len(outcome["requested"]) == 2
    two_model_system.refresh_from_db()
    assert (two_model_system.risk_class, two_model_system.pending_risk_class) == ("high", "minimal")
    assert _classes(two_model_system)[1] == {"fraud-detector": "high", "credit-features": "high"}
    first, second = outcome["requested"]
    with pytest.raises(PermissionDenied):
        risk_class_request_decide(actor=scientist, request=first, outcome="approve", reason="ok")
    # A second change cannot slip in while one pends.
    with pytest.raises(ValidationError):
        system_risk_class_set(
            actor=scientist, system=two_model_system, risk_class="limited", rationale="x"
        )
    risk_class_request_decide(actor=cora, request=first, outcome="approve", reason="Reviewed")
    two_model_system.refresh_from_db()
    assert two_model_system.risk_class == "high"  # one model still waits
    risk_class_request_decide(actor=cora, request=second, outcome="approve", reason="Reviewed")
    two_model_system.refresh_from_db()
    assert (two_model_system.risk_class, two_model_system.pending_risk_class) == ("minimal", "")
    event = AuditEvent.objects.filter(action="aisystem.risk_class").latest("pk")
    assert event.actor_username == "cora" and event.after["risk_class"] == "minimal"


def test_a_rejection_abandons_the_pending_change(
    two_model_system, scientist, cora, model, second_model
):
    from governance import access

    access.grant(model, "view", user=cora)
    access.grant(second_model, "view", user=cora)
    system_risk_class_set(
        actor=scientist, system=two_model_system, risk_class="high", rationale="Scores people"
    )
    outcome = system_risk_class_set(
        actor=scientist, system=two_model_system, risk_class="limited", rationale="Cheaper"
    )
    first, second = outcome["requested"]
    risk_class_request_decide(actor=cora, request=first, outcome="reject", reason="No")
    two_model_system.refresh_from_db()
    assert (two_model_system.risk_class, two_model_system.pending_risk_class) == ("high", "")
    assert AuditEvent.objects.filter(action="aisystem.risk_class_abandon").count() == 1
    risk_class_request_withdraw(actor=scientist, request=second)
    assert AISystem.objects.get(pk=two_model_system.pk).risk_class == "high"


def test_a_system_in_production_opens_requests_even_to_raise(system, scientist, model, version):
    from registry.models import ModelVersion

    ModelVersion.objects.filter(pk=version.pk).update(stage="Production")
    outcome = system_risk_class_set(
        actor=scientist, system=system, risk_class="high", rationale="Scores people"
    )
    assert [r.to_class for r in outcome["requested"]] == ["high"]
    model.refresh_from_db()
    assert model.risk_class == "unclassified"
    assert RiskClassChangeRequest.objects.filter(registered_model=model, status="pending").exists()


def test_annex_iii_without_art_6_3_reasoning_cannot_be_lowered(system, scientist):
    system_update(actor=scientist, system=system, data={"annex_iii_category": "employment"})
    with pytest.raises(ValidationError) as exc:
        system_risk_class_set(actor=scientist, system=system, risk_class="limited", rationale="x")
    assert "Art. 6(3)" in str(exc.value)
    system_update(
        actor=scientist,
        system=system,
        data={"not_high_risk_reasoning": "Art. 6(3)(a): only ranks CVs by language."},
    )
    system_risk_class_set(actor=scientist, system=system, risk_class="limited", rationale="x")
    assert AISystem.objects.get(pk=system.pk).risk_class == "limited"


def test_a_model_joining_takes_the_systems_class(system, scientist, team):
    system_risk_class_set(actor=scientist, system=system, risk_class="high", rationale="x")
    newcomer = make_model(scientist, name="newcomer", team=team)
    system_update(
        actor=scientist,
        system=system,
        data={},
        registered_models=[*system.registered_models.all(), newcomer],
    )
    newcomer.refresh_from_db()
    assert newcomer.risk_class == "high"


def test_the_risk_page_says_when_compliance_must_decide(system, scientist, audit_count):
    client = client_for(scientist)
    client.post(
        f"/ai-systems/{system.pk}/risk-class/", {"risk_class": "high", "rationale": "Scores"}
    )
    response = client.post(
        f"/ai-systems/{system.pk}/risk-class/",
        {"risk_class": "minimal", "rationale": "Cheaper"},
        follow=True,
    )
    page = response.content.decode()
    assert "needs a Compliance decision" in page
    assert 'id="system-pending-risk"' in page
    # A missing rationale keeps the choice and says what is missing.
    response = client.post(f"/ai-systems/{system.pk}/risk-class/", {"risk_class": "limited"})
    assert response.status_code == 400
    assert "A rationale is required." in response.content.decode()
    assert '<option value="limited" selected>' in response.content.decode()
