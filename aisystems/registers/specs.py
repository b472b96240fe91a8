"""What each register is: its model, article, form fields, list columns and the fields
that link to model versions. The views, services, API and templates read this table, so a
register is declared once."""

from dataclasses import dataclass, field

from django.http import Http404

from aisystems.models import (
    Conformity,
    Dataset,
    Incident,
    MonitoringMetric,
    RightsAssessment,
    RiskEntry,
)


@dataclass(frozen=True)
class Register:
    kind: str
    model: type
    label: str
    singular: str
    article: str
    event: str  # the audit action prefix: "<event>.create", "<event>.update"
    fields: tuple
    columns: tuple  # (heading, attribute) of the list
    version_fields: tuple = ()
    intro: str = ""
    extra: dict = field(default_factory=dict)


REGISTERS = (
    Register(
        "risks",
        RiskEntry,
        "Risk register",
        "risk",
        "Art. 9",
        "risk_entry",
        (
            "title",
            "owner",
            "hazard",
            "likelihood",
            "severity",
            "mitigations",
            "mitigation_versions",
            "evidence",
            "residual_likelihood",
            "residual_severity",
            "status",
            "review_on",
        ),
        (
            ("Risk", "title"),
            ("Score", "score"),
            ("Residual", "residual_score"),
            ("Status", "get_status_display"),
            ("Review", "review_on"),
        ),
        version_fields=("mitigation_versions",),
        intro="Known and foreseeable risks to health, safety and fundamental rights, estimated "
        "(likelihood × severity) before and after their mitigations, reviewed on a date.",
    ),
    Register(
        "incidents",
        Incident,
        "Serious incidents",
        "serious incident",
        "Art. 73",
        "incident",
        (
            "title",
            "owner",
            "category",
            "description",
            "occurred_at",
            "aware_at",
            "corrective_actions",
            "authority",
            "report_reference",
            "report_sent_at",
            "status",
        ),
        (
            ("Incident", "title"),
            ("Category", "get_category_display"),
            ("Deadline", "deadline"),
            ("Status", "get_status_display"),
        ),
        intro="Report to the market surveillance authority within 15 days of becoming aware, "
        "10 days for a death, 2 days for a widespread infringement or critical "
        "infrastructure (Art. 73(2)-(4)). A report is approved by someone other than its "
        "author before it is sent.",
    ),
    Register(
        "monitoring",
        MonitoringMetric,
        "Post-market monitoring",
        "monitored metric",
        "Art. 72",
        "monitoring_metric",
        ("title", "owner", "plan", "metric_key", "lower_threshold", "upper_threshold"),
        (
            ("Metric", "title"),
            ("Key", "metric_key"),
            ("Lower", "lower_threshold"),
            ("Upper", "upper_threshold"),
        ),
        intro="The monitoring plan's metrics, their thresholds and the values observed per "
        "version (posted here or through the API). A value outside a threshold opens a "
        "review in the risk register.",
    ),
    Register(
        "datasets",
        Dataset,
        "Data governance",
        "dataset",
        "Art. 10",
        "dataset",
        (
            "title",
            "owner",
            "provenance",
            "collection",
            "labelling_cleaning",
            "bias_examination",
            "known_gaps",
            "trained_versions",
            "evaluated_versions",
        ),
        (("Dataset", "title"), ("Updated", "updated_at")),
        version_fields=("trained_versions", "evaluated_versions"),
        intro="Training, validation and testing data as records: where it came from, how it "
        "was collected, labelled and cleaned, how it was examined for bias, what it lacks.",
    ),
    Register(
        "fria",
        RightsAssessment,
        "Fundamental-rights impact assessment",
        "impact assessment",
        "Art. 27",
        "fria",
        (
            "title",
            "owner",
            "processes",
            "period_frequency",
            "affected_persons",
            "risks_of_harm",
            "human_oversight",
            "measures",
            "status",
            "notified_on",
        ),
        (("Assessment", "title"), ("Status", "get_status_display"), ("Notified", "notified_on")),
        intro="Made by a deployer before first use (Art. 27(1)(a)-(f)) and notified to the "
        "market surveillance authority.",
    ),
    Register(
        "conformity",
        Conformity,
        "Conformity",
        "conformity assessment",
        "Art. 43, 47, 48, 49",
        "conformity",
        (
            "title",
            "owner",
            "route",
            "notified_body",
            "certificate_number",
            "certificate_valid_from",
            "certificate_valid_until",
            "standards",
            "declaration_signed_on",
            "declaration_signatory",
            "ce_marking",
            "eu_database_number",
            "status",
        ),
        (
            ("Assessment", "title"),
            ("Route", "get_route_display"),
            ("Certificate until", "certificate_valid_until"),
            ("CE marking", "get_ce_marking_display"),
            ("EU database", "eu_database_number"),
        ),
        intro="The assessment route (Annex VI or VII), the notified body's certificate and its "
        "validity, the EU declaration of conformity (Annex V), CE marking and the EU "
        "database registration.",
    ),
)
BY_KIND = {r.kind: r for r in REGISTERS}


def register_for(kind: str) -> Register:
    try:
        return BY_KIND[kind]
    except KeyError:
        raise Http404("No such register.") from None
