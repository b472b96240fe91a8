"""The technical documentation builder (governance/reports/techdoc/): Annex IV order,
every item from its source, gaps marked missing with what would fill them, and nothing
from outside the requester's permissions."""

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance import access
from governance.models import ComplianceDocument
from governance.reports import techdoc
from governance.reports.document import digest_of
from governance.reports.scope import ReportScope
from governance.services import (
    alias_set,
    decision_record,
    model_risk_class_set,
    transition_request_open,
    version_archive,
)
from governance.services.compliance import compliance_document_upload
from registry.models import Artifact
from registry.services.cards import card_save
from tests.factories import make_model, make_version

CARD = {
    "model_details": "Gradient-boosted trees over 212 transaction features, calibrated.",
    "intended_use": "Flags card transactions for review by the fraud operations team.",
    "out_of_scope": "Not for credit decisions or for blocking cards without review.",
    "intended_purpose": "Scoring EU retail card payments for fraud, to prioritise review.",
    "factors": "Customer age band and card type change recall.",
    "metrics": "AUC because the threshold is tuned later; recall at 1% FPR for operations.",
    "evaluation_data": "Holdout of March 2026, stratified by card type.",
    "training_data": "Twelve months of labelled transactions, deduplicated by card.",
    "quantitative_analyses": "Recall drops for customers over 65.",
    "ethical_considerations": "False positives inconvenience customers abroad.",
    "risks_limitations": "Drifts when merchants change their descriptors.",
    "risk_management": "Risk register RM-12: drift, bias by age; weekly recall review.",
    "caveats_recommendations": "Re-tune the threshold every quarter.",
    "human_oversight": "Analysts confirm every block; the model never blocks alone.",
    "post_market_monitoring": "Weekly recall per age band; alert below 0.80.",
    "standards_applied": "ISO/IEC 23894:2023 (risk management), ISO/IEC 42001:2023.",
    "environmental_impact": "Trained on 4 CPUs for 2 hours.",
    "contact": "fraud-ml@example.com",
}
METADATA = {
    "developers": "Fraud ML team",
    "model_type": "gradient-boosted trees",
    "license": "other",
    "base_model": "fraud-base-2025",
    "pipeline_tag": "tabular-classification",
    "datasets": ["transactions-2025"],
}
LINEAGE = {
    "framework": "sklearn",
    "framework_version": "1.5.2",
    "run_id": "run-42",
    "code_repository": "git@example.com:fraud/model.git",
    "code_commit": "a1b2c3d4",
    "dataset_name": "transactions",
    "dataset_version": "2026-03",
    "dataset_uri": "s3://data/transactions/2026-03",
    "dataset_hash": "sha256:feedbeef",
}
METRICS = [
    {"name": "auc", "value": 0.93, "dataset": ""},
    {"name": "recall", "value": 0.85, "dataset": ""},
    {"name": "recall", "value": 0.71, "dataset": "age>=65"},
    {"name": "recall", "value": 0.88, "dataset": "age<65"},
]
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def build(user, version, calls=None):
    def progress(percent, message):
        if calls is not None:
            calls.append((percent, message))

    from django.utils import timezone

    return techdoc.build(
        user=user, scope=ReportScope(version=version), progress=progress, now=timezone.now()
    )


def item(doc, key):
    return next(i for s in doc.sections for i in s.items if i.key == key)


def blocks(doc, key, kind):
    return [b for b in item(doc, key).blocks if b["type"] == kind]


def fields(doc, key) -> dict:
    rows = [row for b in blocks(doc, key, "fields") for row in b["rows"]]
    return dict(rows)


def markdown(doc, key) -> str:
    return "\n".join(b["text"] for b in blocks(doc, key, "markdown"))


def tables(doc, key) -> list[dict]:
    return blocks(doc, key, "table")


@pytest.fixture
def full_version(scientist, model, approver, viewer):
    """v2 of the model: a filled card, sliced metrics, lineage, approved to Production,
    with an alias and the declaration of conformity; v1 archived."""
    v1 = make_version(scientist, model)
    v2 = make_version(
        scientist,
        model,
        metrics=METRICS,
        params={"lr": "0.1", "sklearn_version": "1.5.2", "numpy": "1.26.4", "max_depth": "6"},
        lineage=LINEAGE,
    )
    card_save(actor=scientist, version=v2, sections=CARD, metadata=METADATA)
    model_risk_class_set(
        actor=scientist,
        registered_model=model,
        risk_class="limited",
        rationale="Supports analysts; no automated decision about people.",
    )
    Artifact.objects.filter(model_version__registered_model=model).update(scan_status="clean")
    request = transition_request_open(
        actor=scientist,
        version=v2,
        target_stage="Production",
        justification="Recall for older customers improved by 6 points",
    )
    decision_record(
        actor=approver, request=request, outcome="approve", reason="Slices checked with ops"
    )
    version_archive(actor=scientist, version=v1, reason="Superseded by v2")
    alias_set(actor=scientist, registered_model=model, alias="candidate", version=v2)
    compliance_document_upload(
        actor=scientist,
        model_version=v2,
        kind=ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY,
        upload=SimpleUploadedFile("Declaration v2.pdf", PDF, content_type="application/pdf"),
    )
    v2.refresh_from_db()
    return v2


def test_the_nine_sections_in_annex_iv_order_with_stable_keys(scientist, full_version, version):
    for subject in (full_version, version):
        doc = build(scientist, subject)
        layout = tuple((s.key, tuple(i.key for i in s.items)) for s in doc.sections)
        assert layout == techdoc.LAYOUT
        assert [s.number for s in doc.sections] == [str(n) for n in range(1, 10)]
        for i in doc.items:
            assert i.source and i.fill, i.key


def test_every_item_comes_from_its_source(scientist, viewer, model, full_version):
    calls = []
    doc = build(viewer, full_version, calls)
    assert doc.kind == "technical_documentation"
    assert doc.completeness()["missing"] == []
    assert [p for p, _ in calls] == sorted(p for p, _ in calls) and len(calls) >= 4
    facts = dict(doc.facts)
    assert facts["Model"] == "fraud-detector" and facts["Version"] == 2
    assert facts["Stage"] == "Production" and facts["Risk class"] == "Limited"
    assert facts["Declaration of conformity"] == "uploaded"
    assert facts["Annex IV completeness"] == "26 of 26 Annex IV items present (100%)"
    assert "Model card completeness" not in facts  # one figure on the cover

    # 1. General description
    assert markdown(doc, "intended_purpose") == CARD["intended_purpose"]
    assert item(doc, "intended_purpose").source == "model card: Intended purpose"
    assert fields(doc, "provider") == {
        "Developers": "Fraud ML team",
        "Owning team": "Fraud analytics",
    }
    assert CARD["contact"] in markdown(doc, "provider")
    (versions,) = tables(doc, "versions")
    assert [r[:3] for r in versions["rows"]] == [
        [1, "earlier", "Archived"],
        [2, "this version", "Production"],
    ]
    assert versions["rows"][1][4] == "dana" and versions["rows"][1][5].startswith("own card")
    assert fields(doc, "software") == {"Framework": "sklearn", "Framework version": "1.5.2"}
    (libraries,) = tables(doc, "software")
    assert libraries["rows"] == [["numpy", "1.26.4"], ["sklearn_version", "1.5.2"]]
    (files,) = tables(doc, "delivery")
    assert files["rows"] == [["model.json", "json", 22]]
    assert fields(doc, "delivery")["Aliases pointing at this version"] == "@candidate"
    assert "models:/fraud-detector/2" in markdown(doc, "delivery")
    assert "models:/fraud-detector@candidate" in markdown(doc, "delivery")

    # 2. Development
    assert fields(doc, "methods") == {
        "Model type": "gradient-boosted trees",
        "Pre-trained component (base model)": "fraud-base-2025",
        "Training run": "run-42",
        "Code repository": LINEAGE["code_repository"],
        "Code commit": "a1b2c3d4",
    }
    assert markdown(doc, "design") == CARD["model_details"]
    assert fields(doc, "design") == {"Task": "tabular-classification", "Licence": "other"}
    assert fields(doc, "training_data") == {
        "Dataset": "transactions",
        "Dataset version": "2026-03",
        "Dataset URI": "s3://data/transactions/2026-03",
        "Dataset hash": "sha256:feedbeef",
        "Datasets named in the model card": "transactions-2025",
    }
    assert markdown(doc, "training_data") == CARD["training_data"]
    assert markdown(doc, "human_oversight_assessment") == CARD["human_oversight"]
    assert markdown(doc, "validation") == CARD["evaluation_data"]
    overall, sliced = tables(doc, "validation")
    assert overall["rows"] == [["auc", 0.93], ["recall", 0.85]]
    assert sliced["columns"] == ["Slice", "recall"]
    assert sliced["rows"] == [["overall", 0.85], ["age<65", 0.88], ["age>=65", 0.71]]
    artifact = full_version.artifacts.get()
    hashes, grants = tables(doc, "cybersecurity")
    assert hashes["rows"][0][:3] == ["model.json", artifact.sha256, "Clean"]
    assert ["approve", 1, 0] in grants["rows"]
    assert fields(doc, "cybersecurity")["Approvals needed for Production"] == "1"

    # 3. Monitoring, functioning and control
    assert markdown(doc, "capabilities") == CARD["intended_use"]
    limitations = markdown(doc, "limitations")
    assert CARD["risks_limitations"] in limitations and CARD["out_of_scope"] in limitations
    assert item(doc, "limitations").source == (
        "model card: Risks and limitations, Out-of-scope uses"
    )
    (groups,) = tables(doc, "group_performance")
    assert groups == sliced
    assert CARD["factors"] in markdown(doc, "group_performance")
    risks = markdown(doc, "foreseeable_risks")
    assert CARD["risks_limitations"] in risks and CARD["ethical_considerations"] in risks
    assert markdown(doc, "oversight_measures") == CARD["human_oversight"]

    # 4. Metrics
    assert markdown(doc, "metrics_appropriateness") == CARD["metrics"]
    assert item(doc, "metrics_appropriateness").source == "model card: Metrics"

    # 5. Risk management
    assert fields(doc, "risk_class") | {"Set at": None} == {
        "Risk class": "Limited",
        "Rationale": "Supports analysts; no automated decision about people.",
        "Set by": "dana",
        "Set at": None,
    }
    assert markdown(doc, "risk_management_measures") == CARD["risk_management"]

    # 6. Changes through the lifecycle
    (history,) = tables(doc, "version_history")
    assert [r[0] for r in history["rows"]] == [1, 2] and history["rows"][1][4]
    (requests,) = tables(doc, "transition_requests")
    assert requests["rows"][0][1:4] == [2, "Production", "dana"]
    assert requests["rows"][0][5] == "Approved"
    assert requests["rows"][0][7] == "Recall for older customers improved by 6 points"
    (decisions,) = tables(doc, "decisions")
    row = decisions["rows"][0]
    assert row[1:4] == [2, "Production", "avery"] and row[5] == "Approved"
    assert row[7] == "Slices checked with ops" and row[6]
    (changes,) = tables(doc, "stage_changes")
    assert [r[1:8] for r in changes["rows"]] == [
        [
            "avery",
            "Approved transition",
            2,
            "no stage",
            "Production",
            "",
            "Slices checked with ops",
        ],
        ["dana", "Archived", 1, "no stage", "Archived", "", "Superseded by v2"],
    ]

    # 7-9.
    assert markdown(doc, "standards_applied") == CARD["standards_applied"]
    declaration = fields(doc, "declaration")
    assert declaration["File"] == "Declaration_v2.pdf"
    assert declaration["SHA-256"] == hashlib.sha256(PDF).hexdigest()
    assert declaration["Uploaded by"] == "dana" and declaration["Size (bytes)"] == len(PDF)
    assert markdown(doc, "monitoring_plan") == CARD["post_market_monitoring"]

    # The whole document is plain JSON (what render.py and the digest need).
    data = doc.as_dict()
    assert json.loads(json.dumps(data)) == data and len(digest_of(data)) == 64


def test_gaps_are_marked_missing_with_what_fills_them(scientist):
    model = make_model(scientist, name="gappy")
    version = make_version(scientist, model)  # empty card, unclassified, no declaration
    doc = build(scientist, version)
    assert len(doc.sections) == 9
    missing = doc.completeness()["missing"]
    assert {m["item"] for m in missing} == {
        "intended_purpose",
        "design",
        "training_data",
        "human_oversight_assessment",
        "capabilities",
        "limitations",
        "group_performance",
        "foreseeable_risks",
        "oversight_measures",
        "metrics_appropriateness",
        "risk_class",
        "risk_management_measures",
        "standards_applied",
        "declaration",
        "monitoring_plan",
    }
    by_key = {m["item"]: m for m in missing}
    assert by_key["intended_purpose"]["fill"] == "Fill the model card's Intended purpose section."
    assert by_key["intended_purpose"]["section"] == "general_description"
    assert by_key["declaration"]["fill"] == (
        "Upload the signed EU declaration of conformity (PDF) on the version page, in its "
        "Compliance panel."
    )
    assert by_key["declaration"]["number"] == "8.1"
    assert "risk class" in by_key["risk_class"]["fill"]
    assert by_key["monitoring_plan"]["fill"] == (
        "Fill the model card's Post-market monitoring plan section."
    )
    assert by_key["standards_applied"]["fill"] == (
        "Fill the model card's Standards and specifications applied section."
    )
    assert by_key["limitations"]["fill"] == (
        "Fill the model card's Risks and limitations and Out-of-scope uses sections."
    )
    data = doc.as_dict()
    rendered = {i["key"]: i for s in data["sections"] for i in s["items"]}
    assert (
        rendered["declaration"]["status"] == "missing" and rendered["declaration"]["blocks"] == []
    )
    assert rendered["risk_class"]["fill"]
    assert rendered["provider"]["status"] == "present"
    assert dict(doc.facts)["Declaration of conformity"] == "missing"
    assert dict(doc.facts)["Risk class"] == "Unclassified"
    # Legitimately empty histories say so instead of being missing.
    assert item(doc, "transition_requests").blocks == [
        {"type": "text", "text": "No stage change has been requested for this model."}
    ]
    assert data["completeness"]["score"] < 50


def test_placeholder_text_does_not_fill_an_item(scientist, version):
    card_save(
        actor=scientist,
        version=version,
        sections={"intended_purpose": "[More Information Needed]"},
        metadata={},
    )
    doc = build(scientist, version)
    assert item(doc, "intended_purpose").missing


def test_other_models_never_appear(scientist, other_scientist, approver, model, full_version):
    secret = make_model(other_scientist, name="secret-scorer")
    secret_version = make_version(other_scientist, secret, params={"secret_lib_version": "9.9.9"})
    compliance_document_upload(
        actor=other_scientist,
        model_version=secret_version,
        kind=ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY,
        upload=SimpleUploadedFile("secret-declaration.pdf", PDF),
    )
    text = json.dumps(build(scientist, full_version).as_dict())
    assert "secret" not in text
    assert "other team" not in text.lower() and "olga" not in text


def test_rows_are_read_under_the_requester_permissions(other_scientist, full_version):
    """The builder trusts only scope.version; everything it lists is restricted, so even a
    version passed in unchecked yields no other row of the model to someone without a grant."""
    doc = build(other_scientist, full_version)
    assert tables(doc, "versions") == [] and tables(doc, "version_history") == []
    assert tables(doc, "transition_requests") == [] and tables(doc, "decisions") == []
    assert item(doc, "declaration").missing


def test_a_carried_over_card_is_said_so(scientist, model, full_version):
    # full_version's card is locked (Production), a new version carries it over.
    v3 = make_version(scientist, model)
    doc = build(scientist, v3)
    assert "carried over from v2" in item(doc, "versions").blocks[0]["text"]
    (versions,) = tables(doc, "versions")
    assert versions["rows"][2][1] == "this version"
    assert versions["rows"][2][5] == "carried over from v2"
    assert markdown(doc, "intended_purpose") == CARD["intended_purpose"]


def test_viewer_with_only_view_can_build(viewer, full_version):
    assert access.allows(viewer, full_version.registered_model, "view")
    doc = build(viewer, full_version)
    assert doc.generated_by == "vic"
    assert doc.title == "Technical documentation: fraud-detector v2"


def test_renders_as_html_and_json(scientist, full_version):
    from governance.reports import render

    doc = build(scientist, full_version)
    html = render.render(doc, "html").content.decode()
    assert CARD["intended_purpose"] in html and "Declaration_v2.pdf" in html
    data = json.loads(render.render(doc, "json").content)
    assert data["report"]["kind"] == "technical_documentation"


def test_rollbacks_and_post_hoc_reviews_are_in_the_lifecycle(scientist, approver, model):
    from governance.services import emergency_rollback

    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="internal"
    )
    v1, v2 = make_version(scientist, model), make_version(scientist, model)
    Artifact.objects.filter(model_version__registered_model=model).update(
        scan_status="flagged", scan_findings=[{"opcode": "GLOBAL os.system"}]
    )
    doc = build(scientist, v1)
    (hashes, _grants) = tables(doc, "cybersecurity")
    assert hashes["rows"][0][2] == "Flagged (1 finding)"
    Artifact.objects.filter(model_version__registered_model=model).update(
        scan_status="clean", scan_findings=[]
    )
    for v in (v1, v2):
        request = transition_request_open(
            actor=scientist, version=v, target_stage="Production", justification=f"v{v.version}"
        )
        decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    emergency_rollback(actor=approver, registered_model=model, reason="Recall collapsed")
    doc = build(scientist, v1)
    (changes,) = tables(doc, "stage_changes")
    assert [r[2:8] for r in changes["rows"]] == [
        ["Approved transition", 1, "no stage", "Production", "", "ok"],
        ["Approved transition", 2, "no stage", "Production", "v1", "ok"],
        ["Emergency rollback", 1, "v2 was in Production", "Production", "v2", "Recall collapsed"],
    ]
    (requests,) = tables(doc, "transition_requests")
    assert requests["rows"][-1][2] == "Production (post-hoc review)"
    assert requests["rows"][-1][5] == "Pending"
