"""One Annex IV completeness figure (governance/reports/techdoc/figure.py): the cover of
the technical documentation, the model inventory and the Production gate of high-risk
models print the same number, taken from the same items."""

import pytest

from governance.reports.techdoc import annex_iv_completeness
from governance.reports.techdoc.figure import completeness_text
from governance.services import model_risk_class_set
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
