"""The registers: deadlines, four-eyes on incident reports, monitoring breaches opening
reviews, each register's checks, and who may read and write them."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from aisystems.models import Incident, MetricObservation, RiskEntry
from aisystems.registers.services import (
    entry_create,
    entry_update,
    incident_approve,
    observation_record,
)
from aisystems.registers.specs import BY_KIND
from aisystems.services import system_create
from governance import access
from governance.models import AuditEvent, PersonalToken
from governance.services.tokens import token_create
from tests.aisystems.conftest import system_data
from tests.conftest import client_for
from tests.factories import make_model, make_version

pytestmark = pytest.mark.django_db


def _incident(actor, system, **changes):
    now = timezone.now()
    data = {
        "title": "Wrong refusals",
        "description": "A batch of applicants was refused",
        "category": "health",
        "occurred_at": now - timedelta(days=3),
        "aware_at": now - timedelta(days=1),
    } | changes
    return entry_create(actor=actor, spec=BY_KIND["incidents"], system=system, data=data)


@pytest.mark.parametrize(
    "category, days",
    [
        ("health", 15),
        ("death", 10),
        ("widespread", 2),
        ("critical_infrastructure", 2),
        ("fundamental_rights", 15),
    ],
)
def test_the_legal_deadline(system, scientist, category, days):
    incident = _incident(scientist, system, category=category)
    assert incident.deadline == incident.aware_at + timedelta(days=days)
    assert not incident.overdue
    page = client_for(scientist).get(incident.get_absolute_url()).content.decode()
    assert f"{days} days after the provider became aware" in page
    assert "left" in page and "overdue by" not in page
    # Three days after becoming aware, a 2-day deadline has passed; a 15-day one has not.
    Incident.objects.filter(pk=incident.pk).update(aware_at=timezone.now() - timedelta(days=3))
    incident.refresh_from_db()
    assert incident.overdue is (days == 2)
    page = client_for(scientist).get(incident.get_absolute_url()).content.decode()
    assert ("overdue by" in page) is (days == 2)


@pytest.fixture
def approver_of_model(approver, model):
    access.grant(model, "approve", user=approver)
    return approver


def test_a_report_is_approved_by_someone_else_before_it_is_sent(
    system, scientist, approver_of_model, model, audit_count
):
    incident = _incident(scientist, system)
    sent = {"report_sent_at": timezone.now(), "authority": "CNPD", "status": "reported"}
    with pytest.raises(ValidationError) as exc:
        entry_update(actor=scientist, spec=BY_KIND["incidents"], entry=incident, data=sent)
    assert "report_sent_at" in exc.value.message_dict
    # The author cannot approve it, even as an approver of the model.
    scientist.groups.add(*access_groups("Approvers"))
    access.grant(model, "approve", user=scientist)
    with pytest.raises(PermissionDenied, match="Four-eyes"):
        incident_approve(actor=scientist, incident=incident)
    audit_count.reset()
    incident_approve(actor=approver_of_model, incident=incident)
    assert audit_count() == 1
    # Changing what was approved, before sending, needs a new approval.
    incident = entry_update(
        actor=scientist,
        spec=BY_KIND["incidents"],
        entry=Incident.objects.get(pk=incident.pk),
        data={"description": "A batch of applicants was refused, and one complained"},
    )
    assert incident.approved_at is None
    incident_approve(actor=approver_of_model, incident=incident)
    incident = entry_update(
        actor=scientist,
        spec=BY_KIND["incidents"],
        entry=Incident.objects.get(pk=incident.pk),
        data=sent,
    )
    assert incident.status == "reported" and incident.approved_by_username == "avery"


def access_groups(name):
    from django.contrib.auth.models import Group

    return [Group.objects.get_or_create(name=name)[0]]


def test_an_approver_without_approve_on_the_model_cannot(system, scientist, outsider_approver):
    incident = _incident(scientist, system)
    access.grant(system.registered_models.get(), "view", user=outsider_approver)
    with pytest.raises(PermissionDenied):
        incident_approve(actor=outsider_approver, incident=incident)


@pytest.fixture
def metric(system, scientist):
    return entry_create(
        actor=scientist,
        spec=BY_KIND["monitoring"],
        system=system,
        data={
            "title": "Approval-rate gap",
            "plan": "Weekly, by sex and age band",
            "metric_key": "approval_gap",
            "upper_threshold": 0.05,
        },
    )


def test_a_breach_opens_a_review(metric, scientist, version, audit_count):
    audit_count.reset()
    ok = observation_record(actor=scientist, metric=metric, value=0.03, model_version=version)
    assert (ok.breach, ok.review, audit_count()) == (False, None, 1)
    breach = observation_record(actor=scientist, metric=metric, value=0.08, model_version=version)
    assert breach.breach and breach.review is not None
    assert audit_count() == 3  # the observation and the review
    review = RiskEntry.objects.get()
    assert review.source == f"monitoring observation #{breach.pk}" and review.status == "open"
    assert "fraud-detector/v1" in review.hazard
    page = client_for(scientist).get(metric.get_absolute_url()).content.decode()
    assert "<svg" in page and "breach" in page and review.get_absolute_url() in page


def test_observations_through_the_api(metric, scientist, version, auditor):
    _, write = token_create(actor=scientist, name="ci", scope=PersonalToken.Scope.WRITE)
    _, read = token_create(actor=scientist, name="ro", scope=PersonalToken.Scope.READ)
    url = f"/api/attest/ai-systems/{metric.system_id}/observations/"
    body = {"metric": "approval_gap", "value": 0.09, "model": "fraud-detector", "version": 1}

    def post(token, payload):
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
            url, payload, content_type="application/json"
        )

    response = post(write, body)
    assert response.status_code == 200, response.content
    assert response.json()["observation"]["breach"] is True
    assert post(read, body).status_code == 403
    assert post(write, body | {"metric": "nope"}).status_code == 404
    assert post(write, body | {"value": "high"}).status_code == 400
    assert post(write, body | {"version": 9}).status_code == 404
    # The session cannot write here (token only, so no CSRF to forge).
    session = client_for(scientist).post(url, body, content_type="application/json")
    assert session.status_code == 401
    listed = Client(HTTP_AUTHORIZATION=f"Bearer {read}").get(
        f"/api/attest/ai-systems/{metric.system_id}/registers/monitoring/"
    )
    assert listed.json()["entries"][0]["observations"][0]["version"] == "fraud-detector/v1"
    assert MetricObservation.objects.count() == 1


def test_a_version_of_another_system_cannot_be_linked(metric, scientist, team):
    elsewhere = make_version(scientist, make_model(scientist, name="other", team=team))
    with pytest.raises(ValidationError):
        observation_record(actor=scientist, metric=metric, value=0.01, model_version=elsewhere)
    with pytest.raises(ValidationError):
        entry_create(
            actor=scientist,
            spec=BY_KIND["datasets"],
            system=metric.system,
            data={"title": "d", "provenance": "p", "collection": "c"},
            versions={"trained_versions": [elsewhere]},
        )


@pytest.mark.parametrize(
    "kind, data, field",
    [
        ("risks", {"status": "mitigated"}, "mitigations"),
        ("conformity", {"route": "annex_vii"}, "notified_body"),
        ("conformity", {"route": "annex_vi", "ce_marking": "affixed"}, "ce_marking"),
        ("conformity", {"route": "annex_vi", "status": "complete"}, "eu_database_number"),
        ("fria", {"status": "notified"}, "notified_on"),
        ("monitoring", {"plan": "p", "metric_key": "k"}, "lower_threshold"),
    ],
)
def test_each_register_checks_its_entries(system, scientist, kind, data, field):
    base = {
        "risks": {"hazard": "h", "likelihood": 2, "severity": 2, "review_on": date(2030, 1, 1)},
        "fria": {
            k: "x"
            for k in (
                "processes",
                "period_frequency",
                "affected_persons",
                "risks_of_harm",
                "human_oversight",
                "measures",
            )
        },
    }.get(kind, {})
    with pytest.raises(ValidationError) as exc:
        entry_create(
            actor=scientist, spec=BY_KIND[kind], system=system, data={"title": "t"} | base | data
        )
    assert field in exc.value.message_dict


def test_strangers_and_readers(system, scientist, viewer, other_scientist, auditor):
    entry = _incident(scientist, system)
    url = entry.get_absolute_url()
    assert client_for(other_scientist).get(url).status_code == 404
    assert client_for(viewer).get(url).status_code == 200
    assert client_for(auditor).get(url).status_code == 200
    new = f"/ai-systems/{system.pk}/registers/incidents/new/"
    assert client_for(viewer).get(new).status_code == 403
    assert client_for(auditor).post(new, {"title": "x"}).status_code == 403
    # An entry is reached only through its own system.
    other = system_create(actor=scientist, data=system_data(name="other-system"))
    wrong = f"/ai-systems/{other.pk}/registers/incidents/{entry.pk}/"
    assert client_for(scientist).get(wrong).status_code == 404
    assert client_for(scientist).get(f"/ai-systems/{system.pk}/registers/nope/").status_code == 404


def test_the_form_keeps_the_input_and_history_is_shown(system, scientist, audit_count):
    client = client_for(scientist)
    audit_count.reset()
    url = f"/ai-systems/{system.pk}/registers/risks/new/"
    data = {
        "title": "Proxy discrimination",
        "hazard": "Postcode stands for origin",
        "likelihood": "3",
        "severity": "5",
        "status": "accepted",
        "review_on": "2030-01-01",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Postcode stands for origin" in page and "Say how the risk is mitigated" in page
    assert audit_count() == 0
    data |= {
        "mitigations": "Postcode dropped",
        "residual_likelihood": "1",
        "residual_severity": "5",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Risk score <strong>15</strong>" in page and "risk_entry.create" in page
    assert AuditEvent.objects.filter(action="risk_entry.create").count() == 1


def test_dates_read_alike_on_the_page(system, scientist):
    incident = _incident(scientist, system)
    page = client_for(scientist).get(incident.get_absolute_url()).content.decode()
    aware = timezone.localtime(incident.aware_at)
    assert f"{aware:%Y-%m-%d %H:%M} UTC" in page
    assert " p.m." not in page and " a.m." not in page


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,  # deeper than the JSON parser's recursion
        b'{"metric": "approval_gap", "value": 1' + b"0" * 3000 + b"}",  # overflows a float
        b'{"metric": "approval_gap", "value": NaN}',
        b'{"metric": "approval_gap", "value": "0.5"}',
        b'{"metric": "approval\\u0000gap", "value": 0.5}',  # NUL: PostgreSQL refuses it
        b'{"metric": "approval_gap", "value": 0.5, "model": "\\ud800", "version": 1}',
        b'{"metric": ["approval_gap"], "value": 0.5}',
        b'{"metric": "approval_gap", "value": 0.5, "observed_at": "tomorrow"}',
    ],
)
def test_hostile_observation_bodies_are_400_not_5xx(metric, scientist, body):
    _, token = token_create(actor=scientist, name="ci", scope=PersonalToken.Scope.WRITE)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").post(
        f"/api/attest/ai-systems/{metric.system_id}/observations/",
        body,
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert not MetricObservation.objects.exists()


def test_a_nul_in_the_list_search_is_400(system, scientist):
    _, token = token_create(actor=scientist, name="ci", scope=PersonalToken.Scope.READ)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
        "/api/attest/ai-systems/", {"q": "credit\x00"}
    )
    assert response.status_code == 400
