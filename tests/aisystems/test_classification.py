"""The risk-classification questionnaire: Art. 5, Art. 6 with Annexes I and III, Art. 50;
its answers and result kept as evidence."""

import pytest
from django.core.exceptions import ValidationError

from aisystems import questionnaire
from aisystems.models import Classification
from aisystems.services import classification_record, system_update
from governance.models import AuditEvent
from tests.conftest import client_for

NO = {q.key: False for q in questionnaire.YES_NO_QUESTIONS} | {"annex_iii": "none"}


@pytest.mark.parametrize(
    "answers, risk_class, prohibited, duties",
    [
        (NO, "minimal", False, 0),
        (NO | {"art50_1": True}, "limited", False, 1),
        (NO | {"annex_iii": "essential_services"}, "high", False, 0),
        # Art. 6(3)(a) takes an Annex III system out of high-risk...
        (NO | {"annex_iii": "employment", "art6_3a": True}, "minimal", False, 0),
        # ...but never one that profiles people.
        (NO | {"annex_iii": "employment", "art6_3a": True, "profiling": True}, "high", False, 0),
        (NO | {"art6_1": True}, "high", False, 0),
        (NO | {"annex_iii": "annex_i"}, "high", False, 0),
        (NO | {"art5_1c": True, "art50_2": True}, "high", True, 1),
    ],
)
def test_evaluate(answers, risk_class, prohibited, duties):
    result = questionnaire.evaluate(answers)
    assert (result.risk_class, result.prohibited, len(result.transparency_duties)) == (
        risk_class,
        prohibited,
        duties,
    )
    assert result.reasons


def test_incomplete_answers_are_refused():
    partial = dict(NO)
    del partial["art5_1a"]
    with pytest.raises(KeyError):
        questionnaire.evaluate(partial)
    with pytest.raises(ValueError):
        questionnaire.evaluate(NO | {"art5_1a": "yes"})
    with pytest.raises(ValueError):
        questionnaire.evaluate(NO | {"annex_iii": "space"})


@pytest.mark.django_db
def test_a_classification_is_evidence(system, scientist, audit_count):
    audit_count.reset()
    row = classification_record(
        actor=scientist, system=system, answers=NO | {"annex_iii": "essential_services"}
    )
    assert audit_count() == 1
    event = AuditEvent.objects.latest("pk")
    assert event.action == "aisystem.classify"
    assert event.after["answers"]["annex_iii"] == "essential_services"
    assert event.after["result_class"] == "high" == row.result_class
    page = client_for(scientist).get(system.get_absolute_url()).content.decode()
    assert f"#{row.pk} by dana" in page and "Annex III 5" in page
    # It records; it does not classify the system by itself (that is governed).
    system.refresh_from_db()
    assert system.risk_class == "unclassified"


@pytest.mark.django_db
def test_a_prohibited_system_cannot_be_placed_on_the_market(system, scientist):
    classification_record(actor=scientist, system=system, answers=NO | {"art5_1a": True})
    with pytest.raises(ValidationError) as exc:
        system_update(
            actor=scientist,
            system=system,
            data={"market_status": "placed_on_market", "placed_on_market_on": "2026-01-05"},
        )
    assert "market_status" in exc.value.message_dict


@pytest.mark.django_db
def test_the_form_keeps_the_answers_on_error(system, scientist, audit_count):
    client = client_for(scientist)
    audit_count.reset()
    data = {q.key: "no" for q in questionnaire.YES_NO_QUESTIONS} | {"annex_iii": "education"}
    del data["art50_4"]
    response = client.post(f"/ai-systems/{system.pk}/classify/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Answer yes or no." in page
    assert '<option value="education" selected>' in page
    assert audit_count() == 0 and not Classification.objects.exists()
    data["art50_4"] = "yes"
    response = client.post(f"/ai-systems/{system.pk}/classify/", data)
    assert response.status_code == 302
    row = Classification.objects.get()
    assert row.result_class == "high" and row.answers["art50_4"] is True
    assert audit_count() == 1
