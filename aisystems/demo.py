"""The demo's high-risk AI system, worked end to end: credit decisioning built from the
credit-scoring model, classified, with a risk register, a FRIA, data records, monitoring
data with one breach, one serious incident under its deadline, and conformity in progress.
Everything goes through the services, so all of it is audited. `governance.demo` calls
`seed` after its own seeding (registered in aisystems.apps, like the card gate)."""

from datetime import date, timedelta

from django.utils import timezone

from aisystems import questionnaire
from aisystems.models import AISystem
from aisystems.registers.services import entry_create, observation_record
from aisystems.registers.specs import BY_KIND
from aisystems.services import classification_record, system_create, system_risk_class_set
from registry.models import RegisteredModel

NAME = "credit-decisioning"


def seed(users: dict) -> AISystem | None:
    if AISystem.objects.filter(name=NAME).exists():
        return None
    model = RegisteredModel.objects.filter(name="credit-scoring").first()
    if model is None:
        return None
    sam = users["sam"]
    version = model.versions.order_by("-version").first()
    system = system_create(
        actor=sam,
        data={
            "name": NAME,
            "intended_purpose": "Decide consumer loan applications up to EUR 50,000: the "
            "score and its top reasons support an underwriter, who decides.",
            "operator_role": "provider_and_deployer",
            "provider_name": "Attest Demo Bank SA",
            "provider_address": "12 Avenue de la Gare, L-1610 Luxembourg",
            "deployer_name": "Attest Demo Bank SA, Retail lending",
            "deployer_address": "12 Avenue de la Gare, L-1610 Luxembourg",
            "annex_iii_category": "essential_services",
            "interfaces": "Called by the loan origination system over an internal REST API; "
            "reads the credit bureau gateway; no other AI system.",
            "software_versions": "Python 3.12, xgboost 2.1.1, scoring service 4.2.0.",
            "update_requirements": "Model versions change only through an approved "
            "Production transition; the service is patched monthly.",
            "delivery_forms": "An internal API of the bank's lending platform; not sold.",
            "hardware": "Two x86-64 virtual machines, 4 vCPU and 8 GiB each, no GPU.",
            "deployer_interface": "The underwriter's screen shows the score, the decision "
            "band and the five features that moved it most.",
            "instructions_for_use": "Use only for consumer loans; never decide on the score "
            "alone; report unexpected refusals to the model owner.",
            "predetermined_changes": "Quarterly retraining on new outcomes with the same "
            "features and a recall by age band no lower than 0.70.",
            "cybersecurity": "Artifacts hashed and scanned before promotion; the API needs "
            "mutual TLS; inputs are range-checked.",
            "input_specification": "42 application and bureau features, types and ranges "
            "in the feature contract v3; missing bureau data is flagged.",
            "market_status": "in_service",
            "placed_on_market_on": date.today() - timedelta(days=120),
        },
        registered_models=[model],
        versions=[version] if version else [],
    )
    answers = {q.key: False for q in questionnaire.YES_NO_QUESTIONS}
    answers |= {"annex_iii": "essential_services", "profiling": True, "art50_1": False}
    classification_record(
        actor=sam,
        system=system,
        answers=answers,
        notes="Creditworthiness of natural persons (Annex III 5(b)); profiles applicants.",
    )
    system_risk_class_set(
        actor=sam, system=system, risk_class="high", rationale="Classification: Annex III 5(b)"
    )
    _registers(sam, system, version)
    return system


def _registers(sam, system, version) -> None:
    def add(kind, **data):
        return entry_create(actor=sam, spec=BY_KIND[kind], system=system, data=data)

    now = timezone.now()
    add(
        "risks",
        title="Indirect discrimination by age",
        hazard="Older applicants refused more often through proxies (tenure, product mix).",
        likelihood=3,
        severity=4,
        mitigations="Age-band recall monitored; tenure capped; underwriter review of refusals.",
        evidence="Fairness report 2025-10 (recall by age band 0.74 to 0.79).",
        residual_likelihood=2,
        residual_severity=3,
        status="mitigated",
        review_on=date.today() + timedelta(days=60),
    )
    add(
        "risks",
        title="Thin-file applicants scored unreliably",
        hazard="Applicants with little bureau history get uncertain scores.",
        likelihood=4,
        severity=3,
        mitigations="Thin files routed to manual underwriting.",
        status="open",
        review_on=date.today() + timedelta(days=30),
    )
    data = add(
        "datasets",
        title="applications-2024q4",
        provenance="The bank's loan applications 2020-2024 with 12-month outcomes.",
        collection="Exported monthly from the origination system; consent under the loan "
        "agreement.",
        labelling_cleaning="Default = 90 days past due within 12 months; duplicates and "
        "withdrawn applications removed.",
        bias_examination="Outcome and score rates compared by age band and sex; no proxy "
        "above 0.3 correlation kept.",
        known_gaps="Few applicants under 21; no self-employed before 2022.",
    )
    if version is not None:
        data.trained_versions.set([version])
        data.evaluated_versions.set([version])
    add(
        "fria",
        title="FRIA before first use",
        processes="Retail consumer lending: application, scoring, underwriting.",
        period_frequency="Continuous; about 400 applications a day.",
        affected_persons="Applicants for consumer loans, including older and young adults.",
        risks_of_harm="Unjustified refusal of credit; discrimination by age or sex.",
        human_oversight="Every refusal is decided by an underwriter who sees the reasons.",
        measures="Appeal within 30 days to a second underwriter; complaints to the DPO.",
        status="complete",
    )
    metric = add(
        "monitoring",
        title="Approval-rate gap by age band",
        plan="Weekly: approval rate of applicants 65+ minus that of 25-64, from decisions.",
        metric_key="approval_gap",
        upper_threshold=0.05,
    )
    for weeks_ago, value in ((5, 0.021), (4, 0.026), (3, 0.031), (2, 0.038), (1, 0.062)):
        observation_record(
            actor=sam,
            metric=metric,
            value=value,
            observed_at=now - timedelta(weeks=weeks_ago),
            model_version=version,
        )
    add(
        "incidents",
        title="Refusals without an underwriter's review",
        description="A routing fault sent 37 applications to automatic refusal without an "
        "underwriter for six hours.",
        category="fundamental_rights",
        occurred_at=now - timedelta(days=4),
        aware_at=now - timedelta(days=3),
        corrective_actions="Routing fixed; the 37 applications re-decided by underwriters.",
        authority="Commission de Surveillance du Secteur Financier",
    )
    add(
        "conformity",
        title="Internal control (Annex VI)",
        route="annex_vi",
        standards="ISO/IEC 42001:2023 (quality management, in part); ISO/IEC 23894:2023 "
        "(risk management).",
        status="in_progress",
    )
