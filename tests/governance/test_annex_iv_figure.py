"""One Annex IV completeness figure (governance/reports/techdoc/figure.py): the cover of
the technical documentation, the model inventory and the Production gate of high-risk
models print the same number, taken from the same items."""

import pytest
from django.core.exceptions import ValidationError

from governance.annex_gate import GATE_NAME
from governance.policy import evaluate_gates, merge_policies, policy_for, policy_snapshot
from governance.reports import techdoc
from governance.reports.techdoc import annex_iv_completeness
from governance.reports.techdoc.figure import completeness_text
from governance.roles import DEFAULT_REQUIRED_ITEMS
from governance.services import model_risk_class_set, transition_request_open
from registry.models import Artifact
from registry.services.cards import card_save
from tests.factories import make_version
from tests.governance.test_report_inventory import build as build_inventory
from tests.governance.test_report_techdoc import CARD, build

# Only part of the card: every required section of a "model card complete" policy, but
# not what Annex IV asks of the record (no declaration, no lineage, no metrics).
REQUIRED_CARD_ONLY = {k: CARD[k] for k in ("model_details", "intended_use", "risks_limitations")}


@pytest.fixture
def high_risk_version(scientist, model):
    version = make_version(scientist, model)
    card_save(actor=scientist, version=version, sections=REQUIRED_CARD_ONLY, metadata={})
    model_risk_class_set(
        actor=scientist,
        registered_model=model,
        risk_class="high",
        rationale="Decides on access to credit (Annex III 5(b)).",
    )
    version.refresh_from_db()
    return version


def test_the_cover_prints_the_items_figure_not_the_card_score(viewer, high_risk_version):
    doc = build(viewer, high_risk_version)
    summary = doc.completeness()
    assert summary["missing"], "the fixture leaves Annex IV items missing"
    facts = dict(doc.facts)
    assert facts["Annex IV completeness"] == completeness_text(summary)
    assert facts["Annex IV completeness"] == (
        f"{summary['present']} of {summary['items']} Annex IV items present ({summary['score']}%)"
    )
    assert "Model card completeness" not in facts


def test_the_figure_is_of_the_record_whoever_reads_it(viewer, scientist, high_risk_version):
    figure = annex_iv_completeness(high_risk_version)
    assert figure == build(viewer, high_risk_version).completeness()
    assert figure == build(scientist, high_risk_version).completeness()
    assert 0 < figure["present"] < figure["items"]


def test_the_inventory_shows_the_same_figure_for_high_risk_models(
    scientist, model, high_risk_version
):
    doc = build_inventory(scientist)
    rows = {row[0]: dict(zip(doc.csv_columns, row, strict=True)) for row in doc.csv_rows}
    row = rows[model.name]
    cover = dict(build(scientist, high_risk_version).facts)["Annex IV completeness"]
    assert row["Annex IV completeness"] == cover
    assert not row["Annex IV completeness"].startswith("100%")


def test_the_inventory_leaves_the_figure_out_below_high_risk(scientist, model, version):
    doc = build_inventory(scientist)
    rows = {row[0]: dict(zip(doc.csv_columns, row, strict=True)) for row in doc.csv_rows}
    assert rows[model.name]["Annex IV completeness"] is None


# --- The Production gate of high-risk models ------------------------------------------


def annex_gate(version, **snapshot):
    snapshot.setdefault("require_risk_class", False)
    gates = evaluate_gates(version, snapshot)
    return next((g for g in gates if g.name == GATE_NAME), None)


def test_the_high_risk_production_policy_requires_the_default_items(db):
    keys = {key for _, items in techdoc.LAYOUT for key in items}
    assert set(DEFAULT_REQUIRED_ITEMS) <= keys
    assert policy_for("Production", "high").annex_iv_item_keys == list(DEFAULT_REQUIRED_ITEMS)
    assert policy_snapshot(policy_for("Production", "high"))["required_annex_iv_items"] == list(
        DEFAULT_REQUIRED_ITEMS
    )
    for stage, risk in (("Production", "limited"), ("Staging", "high")):
        assert policy_snapshot(policy_for(stage, risk))["required_annex_iv_items"] == []


def test_a_complete_card_no_longer_carries_a_high_risk_version_to_production(
    settings, scientist, high_risk_version
):
    """The attack: a data scientist fills the card's required sections and asks for
    Production while the technical documentation lacks what a notified body needs."""
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = list(REQUIRED_CARD_ONLY)
    Artifact.objects.filter(model_version=high_risk_version).update(scan_status="clean")
    snapshot = policy_snapshot(policy_for("Production", "high"))
    gates = {g.name: g for g in evaluate_gates(high_risk_version, snapshot)}
    assert gates["Model card complete"].passed  # what used to let it through
    gate = gates[GATE_NAME]
    assert not gate.passed
    figure = annex_iv_completeness(high_risk_version)
    assert gate.reason.startswith(completeness_text(figure) + "; required but missing: ")
    missing = {m["item"]: m for m in figure["missing"]}
    for key in DEFAULT_REQUIRED_ITEMS:
        if key in missing:
            assert f"{missing[key]['number']} {missing[key]['title']}" in gate.reason
    assert "intended_purpose" in missing and "1.1 Intended purpose" in gate.reason
    with pytest.raises(ValidationError, match=GATE_NAME):
        transition_request_open(
            actor=scientist,
            version=high_risk_version,
            target_stage="Production",
            justification="Card complete",
        )


def test_the_gate_passes_when_the_required_items_are_present(scientist, version):
    assert annex_gate(version) is None  # no items named, no gate
    gate = annex_gate(version, required_annex_iv_items=["intended_purpose"])
    assert not gate.passed and "Intended purpose" in gate.reason
    card_save(actor=scientist, version=version, sections={"intended_purpose": "Scoring."})
    gate = annex_gate(version, required_annex_iv_items=["intended_purpose"])
    assert gate.passed, gate.reason
    assert gate.reason.endswith("all 1 required items are present")


def test_an_unknown_item_in_a_policy_fails_closed(scientist, version):
    card_save(actor=scientist, version=version, sections={"intended_purpose": "Scoring."})
    gate = annex_gate(version, required_annex_iv_items=["intended_purpose", "intended_purpse"])
    assert not gate.passed and "intended_purpse (no such item" in gate.reason


def test_an_open_request_keeps_every_item_either_policy_names():
    merged = merge_policies(
        {"required_annex_iv_items": ["provider"], "policy": "a"},
        {"required_annex_iv_items": ["design", "provider"], "policy": "b"},
    )
    assert merged["required_annex_iv_items"] == ["provider", "design"]
    assert merged["stricter_than_opened"]
