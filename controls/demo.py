"""The demo's readiness: the control library loaded, and the high-risk credit-decisioning
system (aisystems/demo.py) shown against all four frameworks: some controls met from the
registry's evidence, some by manual evidence, one not applicable, the rest gaps. An
independent validation of credit-scoring with an open medium finding, and a first snapshot
of the trend. Everything through the services, so all of it is audited. Registered in
governance's DEMO_EXTENSIONS by controls.apps, after aisystems' own seed."""

from datetime import date, timedelta

from aisystems.models import AISystem
from controls import library, services
from controls.models import Control, Framework
from governance import access

SYSTEM = "credit-decisioning"


def seed(users: dict) -> None:
    library.load()
    system = AISystem.objects.filter(name=SYSTEM).first()
    if system is None or services.ManualEvidence.objects.filter(system=system).exists():
        return
    sam, avery = users["sam"], users["avery"]
    today = date.today()

    def control(key, ref):
        return Control.objects.get(framework__key=key, ref=ref)

    for key, ref, title, days in (
        ("eu-ai-act", "Art. 12", "Scoring service event log design (retention 6 months)", 180),
        ("eu-ai-act", "Art. 17", "Retail lending quality management manual v3", 365),
        ("iso-42001", "A.2.2", "Group AI policy, approved by the board", 365),
        ("sr-11-7", "SR 11-7 VI.2", "Model risk policy MRM-01", 365),
        # Manual evidence past its review date: counts as partly met until reviewed.
        ("nist-ai-rmf", "GOVERN 2.2", "AI risk training records 2024", -30),
    ):
        services.manual_evidence_add(
            actor=sam,
            system=system,
            control=control(key, ref),
            kind="document",
            data={"title": title, "review_on": today + timedelta(days=days), "owner": sam},
        )
    services.manual_evidence_add(
        actor=sam,
        system=system,
        control=None,
        kind="access_review",
        data={
            "title": "Quarterly access review of credit-scoring",
            "review_on": today + timedelta(days=80),
        },
    )
    services.not_applicable_set(
        actor=sam,
        system=system,
        control=control("sr-11-7", "SR 11-7 VI.5"),
        reason="The model is developed in-house; no vendor or third-party model is used.",
    )
    model = system.registered_models.filter(name="credit-scoring").first()
    # Avery approves credit-scoring through the default approver groups (when configured).
    if model is not None and access.allows(avery, model, "approve"):
        validation = services.validation_record(
            actor=avery,
            model=model,
            validated_on=today - timedelta(days=40),
            summary="Conceptually sound; back-testing on 2023 vintages within tolerance.",
        )
        services.finding_add(
            actor=avery,
            model=model,
            validation=validation,
            data={
                "title": "Stability of thin-file applicants not monitored",
                "severity": "medium",
                "owner": sam,
                "remediate_by": today + timedelta(days=60),
            },
        )
    for framework in Framework.objects.all():
        services.snapshot_take(actor=sam, system=system, framework=framework)
