"""Evidence rules, one kind at a time, and control statuses that follow their evidence: a
card section emptied, a scan flagged, an access review gone overdue, a finding opened."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aisystems.models import MetricObservation
from aisystems.registers.services import entry_create
from aisystems.registers.specs import BY_KIND
from controls import rules, services
from controls.evaluation import control_status, readiness
from controls.models import Framework
from controls.rules import MET, NOT_APPLICABLE, NOT_MET, PARTLY, Context
from governance.models import AuditEvent, Decision, Report, TransitionRequest
from governance.policy import evaluate_gates
from registry.models import Artifact
from registry.services.cards import card_save
from registry.services.scans import artifact_scan_record
from tests.factories import make_user

pytestmark = pytest.mark.django_db
TODAY = date.today()


def status(system, spec, today=None):
    return rules.RULES[spec["kind"]](Context(system, today), spec).status


def test_card_section_met_partly_and_not_met(system, scientist, version):
    spec = {"kind": "card_section", "sections": ["intended_use", "risks_limitations"]}
    assert status(system, spec) == NOT_MET
    card_save(actor=scientist, version=version, sections={"intended_use": "Loans."})
    assert status(system, spec) == PARTLY
    card_save(
        actor=scientist,
        version=version,
        sections={"intended_use": "Loans.", "risks_limitations": "Thin files."},
    )
    assert status(system, spec) == MET


def test_a_control_falls_when_its_card_section_is_emptied(system, scientist, version, controls):
    card_save(
        actor=scientist,
        version=version,
        sections={"intended_use": "Loans.", "out_of_scope": "Mortgages.", "risks_limitations": "x"},
    )
    art13 = controls["eu-ai-act Art. 13"]
    assert control_status(Context(system), art13).status == MET
    card_save(
        actor=scientist,
        version=version,
        sections={"intended_use": "Loans.", "out_of_scope": "Mortgages.", "risks_limitations": ""},
    )
    result = control_status(Context(system), art13)
    assert result.status == PARTLY and "risks_limitations" in result.summary


def _approved(version, requester, *approvers):
    request = TransitionRequest.objects.create(
        model_version=version,
        target_stage="Production",
        justification="ship",
        status="approved",
        requested_by=requester,
        decided_at=timezone.now(),
    )
    for user in approvers:
        Decision.objects.create(
            request=request,
            approver=user,
            approver_username=user.username,
            outcome="approve",
            reason="ok",
        )
    return request


def test_four_eyes_needs_two_approvers_other_than_the_requester(system, version, scientist):
    spec = {"kind": "four_eyes_approval"}
    assert status(system, spec) == NOT_MET
    _approved(version, scientist, scientist, make_user("ann"))  # the requester's own counts not
    assert status(system, spec) == PARTLY
    _approved(version, scientist, make_user("bob"), make_user("cid"))
    assert status(system, spec) == MET


def test_a_control_falls_when_a_scan_is_flagged(system, version, controls):
    artifact = Artifact.objects.get(model_version=version)
    artifact_scan_record(artifact_id=artifact.pk, status="clean", findings=[])
    spec = {"kind": "clean_scan"}
    assert status(system, spec) == MET
    artifact_scan_record(artifact_id=artifact.pk, status="pending", findings=[])
    assert status(system, spec) == PARTLY
    artifact_scan_record(artifact_id=artifact.pk, status="flagged", findings=["os.system"])
    assert status(system, spec) == NOT_MET
    assert control_status(Context(system), controls["nist-ai-rmf MEASURE 2.7"]).status == NOT_MET


def test_risk_entry_met_and_partly_when_every_review_is_overdue(system, scientist):
    spec = {"kind": "risk_entry"}
    assert status(system, spec) == NOT_MET
    entry_create(
        actor=scientist,
        spec=BY_KIND["risks"],
        system=system,
        data={
            "title": "Bias against young applicants",
            "hazard": "Refusals",
            "likelihood": 3,
            "severity": 4,
            "review_on": TODAY + timedelta(days=30),
        },
    )
    assert status(system, spec) == MET
    assert status(system, spec, today=TODAY + timedelta(days=31)) == PARTLY


def test_monitoring_plan_needs_data(system, scientist, version):
    spec = {"kind": "monitoring_plan"}
    assert status(system, spec) == NOT_MET
    metric = entry_create(
        actor=scientist,
        spec=BY_KIND["monitoring"],
        system=system,
        data={"title": "Gap", "plan": "Weekly", "metric_key": "gap", "upper_threshold": 0.05},
    )
    assert status(system, spec) == PARTLY
    MetricObservation.objects.create(
        metric=metric, model_version=version, value=0.01, observed_at=timezone.now()
    )
    assert status(system, spec) == MET


def test_registers(system, scientist):
    assert status(system, {"kind": "register", "register": "datasets"}) == NOT_MET
    entry_create(
        actor=scientist,
        spec=BY_KIND["datasets"],
        system=system,
        data={"title": "Applications 2024", "provenance": "CRM", "collection": "Export"},
    )
    assert status(system, {"kind": "register", "register": "datasets"}) == MET
    # No incident is no gap; one past its reporting deadline is.
    assert status(system, {"kind": "register", "register": "incidents"}) == MET
    now = timezone.now()
    entry_create(
        actor=scientist,
        spec=BY_KIND["incidents"],
        system=system,
        data={
            "title": "Wrong refusals",
            "description": "A batch",
            "category": "death",
            "occurred_at": now - timedelta(days=20),
            "aware_at": now - timedelta(days=15),
        },
    )
    assert status(system, {"kind": "register", "register": "incidents"}) == NOT_MET


def test_access_review_goes_overdue(system, scientist, controls):
    spec = {"kind": "access_review"}
    assert status(system, spec) == NOT_MET
    services.manual_evidence_add(
        actor=scientist,
        system=system,
        control=None,
        kind="access_review",
        data={"title": "Q3 access review", "review_on": TODAY + timedelta(days=90)},
    )
    assert status(system, spec) == MET
    later = TODAY + timedelta(days=91)
    assert status(system, spec, today=later) == NOT_MET
    assert control_status(Context(system, later), controls["iso-42001 A.3.2"]).status == NOT_MET


def test_signed_report(system, scientist, model):
    spec = {"kind": "signed_report"}
    assert status(system, spec) == NOT_MET
    Report.objects.create(
        kind="technical_documentation",
        format="pdf",
        status="ready",
        title="Technical documentation",
        registered_model_id=model.pk,
        requested_by=scientist,
        requested_by_username=scientist.username,
        keep_until=TODAY + timedelta(days=365),
    )
    assert status(system, spec) == MET


def test_manual_evidence_and_not_applicable(system, scientist, controls):
    art12 = controls["eu-ai-act Art. 12"]  # no rule: manual evidence only
    assert control_status(Context(system), art12).status == NOT_MET
    with pytest.raises(ValidationError):
        services.manual_evidence_add(
            actor=scientist, system=system, control=art12, kind="document", data={"title": "x"}
        )
    services.manual_evidence_add(
        actor=scientist,
        system=system,
        control=art12,
        kind="document",
        data={"title": "Logging design", "review_on": TODAY + timedelta(days=10)},
    )
    result = control_status(Context(system), art12)
    assert result.status == MET and result.owner == scientist.username
    assert control_status(Context(system, TODAY + timedelta(days=11)), art12).status == PARTLY
    services.not_applicable_set(
        actor=scientist, system=system, control=art12, reason="Logging is the deployer's"
    )
    result = control_status(Context(system), art12)
    assert result.status == NOT_APPLICABLE and "deployer" in result.summary
    services.not_applicable_set(
        actor=scientist, system=system, control=art12, reason="", withdraw=True
    )
    assert control_status(Context(system), art12).status == MET
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"controls.evidence_add", "controls.not_applicable"} <= actions


def test_a_viewer_cannot_add_evidence(system, viewer, controls):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.manual_evidence_add(
            actor=viewer,
            system=system,
            control=controls["eu-ai-act Art. 12"],
            kind="document",
            data={"title": "x", "review_on": TODAY},
        )


def test_validation_findings_revalidation_and_the_promotion_gate(
    system, scientist, approver, model, version, team
):
    from governance import access

    access.grant(model, "approve", user=approver)
    validations = {"kind": "independent_validation"}
    assert status(system, validations) == NOT_MET
    assert status(system, {"kind": "revalidation_current"}) == NOT_MET
    with pytest.raises(ValidationError):  # the model's creator cannot validate it
        access.grant(model, "approve", user=scientist)
        services.validation_record(actor=scientist, model=model, validated_on=TODAY, summary="ok")
    services.validation_record(actor=approver, model=model, validated_on=TODAY, summary="Sound")
    assert status(system, validations) == MET
    assert status(system, {"kind": "revalidation_current"}) == MET
    # Unclassified and high models are validated again within 12 months.
    assert status(system, {"kind": "revalidation_current"}, TODAY + timedelta(days=400)) == NOT_MET

    gate = [g for g in evaluate_gates(version, {}) if "finding" in g.name]
    assert gate and gate[0].passed
    finding = services.finding_add(
        actor=approver,
        model=model,
        data={"title": "Unstable on thin files", "severity": "high", "remediate_by": TODAY},
    )
    assert status(system, {"kind": "findings_closed"}) == NOT_MET
    gate = [g for g in evaluate_gates(version, {}) if "finding" in g.name][0]
    assert not gate.passed and "Unstable on thin files" in gate.reason
    services.finding_close(actor=approver, finding=finding, note="Retrained with more data")
    assert status(system, {"kind": "findings_closed"}) == MET
    assert [g for g in evaluate_gates(version, {}) if "finding" in g.name][0].passed


def test_readiness_counts_every_control_of_a_framework(system, controls):
    result = readiness(system, Framework.objects.get(key="nist-ai-rmf"))
    assert len(result.results) == 72
    assert sum(result.counts.values()) == 72
    assert result.counts[NOT_MET] == len(result.gaps) - result.counts[PARTLY]
