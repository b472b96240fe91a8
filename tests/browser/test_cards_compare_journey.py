"""Model cards and version comparison, through the real UI in headless chromium.

A data scientist ticks three versions on the model page and compares them: the best
metrics and the differences are highlighted, the charts are drawn (server-side SVG, no
network). Then they edit a version's model card: the live preview renders the markdown
as they type, the completeness follows, and after saving the card and the version page
both show the new completeness. A viewer sees the card and cannot edit it.
"""

import re

import pytest
from playwright.sync_api import expect

from governance import access
from registry.models import ModelCard
from registry.services.cards import card_save
from tests.browser.conftest import SCREENSHOT_DIR, sign_in, sign_out
from tests.factories import make_model, make_team, make_user, make_version

pytestmark = pytest.mark.browser

TEAM = "Fraud analytics"


def _model_with_three_versions():
    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS, TEAM)
    vic = make_user("vic", access.ROLE_DATA_SCIENTISTS)
    model = make_model(dana, name="fraud-detector", team=make_team(TEAM))
    access.grant(model, "view", user=vic)
    specs = [
        # auc, loss, learning rate, weights, commit
        (0.90, 0.31, "0.1", b"weights one", "a1b2c3d"),
        (0.93, 0.27, "0.05", b"weights two", "e4f5a6b"),
        (0.92, 0.24, "0.05", b"weights two", "e4f5a6b"),
    ]
    for number, (auc, loss, lr, weights, commit) in enumerate(specs, start=1):
        version = make_version(
            dana,
            model,
            files={"model.bin": weights, "schema.json": b'{"features": 42}'},
            metrics=[
                {"name": "auc", "value": auc, "dataset": ""},
                {"name": "loss", "value": loss, "dataset": ""},
                {"name": "recall", "value": auc - 0.1, "dataset": "age>=65"},
            ],
            params={"learning_rate": lr, "max_depth": "6"},
            lineage={"run_id": f"run-{commit}", "code_commit": commit, "framework": "xgboost"},
        )
        if number == 1:  # later versions start with this card, carried over
            card_save(actor=dana, version=version, sections={"contact": "fraud-ml@bank.example"})
    return model


def test_compare_three_versions_then_edit_a_card(page, live_server, settings):
    settings.ATTEST_MODEL_CARD_REQUIRED_SECTIONS = ["intended_use", "risks_limitations"]
    model = _model_with_three_versions()

    # 1. From the model page, tick three versions and compare them.
    sign_in(page, "dana")
    page.goto("/models/fraud-detector/")
    for number in (1, 2, 3):
        page.get_by_label(f"Compare v{number}", exact=True).check()
    page.get_by_role("button", name="Compare selected versions").click()
    page.wait_for_url(re.compile(r"/models/fraud-detector/compare/\?v=3&v=2&v=1$"))
    expect(page.get_by_role("heading", name="Compare versions of fraud-detector")).to_be_visible()
    # The first selected, v3 (the table lists the newest first), is the baseline.
    expect(page.get_by_text("Differences are from the baseline, v3")).to_be_visible()
    columns = page.locator("#compare-overview thead th")
    expect(columns).to_have_count(4)
    expect(columns.nth(1)).to_contain_text("v3")

    # 2. The best value of each metric is highlighted, with the direction taken into account.
    metrics = page.locator("#compare-metrics")
    auc = metrics.locator('tr[data-metric="auc"]')  # columns: v3, v2, v1
    expect(auc.locator("td.best")).to_have_count(1)
    expect(auc.locator("td").nth(1)).to_have_class(re.compile(r"\bbest\b"))  # v2: 0.93
    expect(auc.locator("td").nth(1).locator(".delta")).to_have_text("+0.01 (+1.1%)")
    loss = metrics.locator('tr[data-metric="loss"]')
    expect(loss.locator("td").nth(0)).to_have_class(re.compile(r"\bbest\b"))  # v3: lowest
    expect(loss.locator("td").nth(2).locator(".delta")).to_have_text("+0.07 (+29.2%)")
    expect(loss.locator("td").nth(2).locator(".delta")).to_have_class(re.compile("delta-worse"))

    # Differing parameters are highlighted, identical ones folded away.
    params = page.locator("#compare-params")
    row = params.get_by_role("row").filter(has_text="learning_rate")
    expect(row.locator("td.changed")).to_have_count(1)  # v1 differs from v3
    expect(params.get_by_role("row").filter(has_text="max_depth")).to_have_count(0)
    folded = page.locator("details.identical", has_text="1 identical parameter")
    expect(folded.get_by_text("max_depth")).to_be_hidden()
    folded.locator("summary").click()
    expect(folded.get_by_text("max_depth")).to_be_visible()

    # Lineage changes and artifacts matched by path.
    lineage = page.locator("#compare-lineage").get_by_role("row").filter(has_text="Commit")
    expect(lineage.locator("td.changed")).to_have_count(1)
    artifacts = page.locator("#compare-artifacts")
    weights = artifacts.get_by_role("row").filter(has_text="model.bin")
    expect(weights.locator(".badge")).to_have_text(["baseline", "identical", "changed"])
    schema = artifacts.get_by_role("row").filter(has_text="schema.json")
    expect(schema.locator(".badge")).to_have_text(["baseline", "identical", "identical"])

    # 3. The charts: one per metric, every version drawn, the compared ones marked.
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(2)
    auc_chart = page.locator('svg.chart[data-chart="auc"]')
    expect(auc_chart).to_be_visible()
    expect(auc_chart.locator("circle")).to_have_count(3)
    expect(auc_chart.locator("circle.chart-point-selected")).to_have_count(3)
    box = auc_chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100

    # Another baseline puts that version first; the URL keeps the whole selection.
    columns.nth(3).get_by_role("link", name="Use as baseline").click()
    page.wait_for_url(re.compile(r"/compare/\?v=1&v=3&v=2&m=auc&m=loss$"))
    expect(page.get_by_text("Differences are from the baseline, v1")).to_be_visible()
    weights = page.locator("#compare-artifacts").get_by_role("row").filter(has_text="model.bin")
    expect(weights.locator(".badge")).to_have_text(["baseline", "changed", "changed"])
    share = page.get_by_label("Link to this comparison")
    expect(share).to_have_value(re.compile(r"/compare/\?v=1&v=3&v=2&m=auc&m=loss$"))
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT_DIR / "compare.png", full_page=True)

    # 4. Edit version 3's card: the live preview and the completeness follow the typing.
    page.goto("/models/fraud-detector/versions/3/")
    summary = page.locator("section.card-summary")
    expect(summary.locator("[data-completeness-score]")).to_have_text("0%")
    expect(summary.get_by_text("Carried over from v2, not edited")).to_be_visible()
    summary.get_by_role("link", name="Open the model card").click()
    page.wait_for_url("**/versions/3/card/")
    expect(page.get_by_role("heading", name=re.compile("^Model card"))).to_be_visible()
    page.get_by_role("link", name="Edit the card").click()
    page.wait_for_url("**/versions/3/card/edit/")
    completeness = page.locator("#card-completeness")
    expect(completeness.locator("[data-completeness-score]")).to_have_text("0%")
    page.get_by_label("Intended use").fill("Flags **card payments** for manual review.")
    preview = page.locator("#preview-intended_use")
    expect(preview.locator("strong")).to_have_text("card payments")
    expect(completeness.locator("[data-completeness-score]")).to_have_text("50%")
    expect(completeness.locator("[data-missing] li")).to_have_text(["Risks and limitations"])
    page.get_by_label("Risks and limitations").fill("Drifts after *holiday* peaks.")
    expect(page.locator("#preview-risks_limitations em")).to_have_text("holiday")
    expect(completeness.locator("[data-completeness-score]")).to_have_text("100%")
    expect(completeness.get_by_text("All required sections are filled.")).to_be_visible()
    page.get_by_label("What changed").fill("Uses and risks for v3")
    page.get_by_role("button", name="Save the card").click()
    page.wait_for_url("**/versions/3/card/")
    expect(page.get_by_role("status")).to_contain_text("Saved the model card of fraud-detector v3")
    expect(page.locator("#card-completeness [data-completeness-score]")).to_have_text("100%")
    expect(page.locator("#section-intended_use strong")).to_have_text("card payments")
    expect(page.get_by_text("Carried over", exact=False)).to_have_count(0)
    card = ModelCard.objects.get(model_version__registered_model=model, model_version__version=3)
    assert card.sections["contact"] == "fraud-ml@bank.example"  # carried over, kept
    assert not card.carried_over and card.revision_count == 2

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="Changes from r1 to r2")).to_be_visible()
    added = page.locator("ins", has_text="Flags **card payments** for manual review.")
    expect(added).to_be_visible()

    page.goto("/models/fraud-detector/versions/3/")
    expect(page.locator("section.card-summary [data-completeness-score]")).to_have_text("100%")

    # 5. A viewer reads the card and has no way to edit it.
    sign_out(page)
    sign_in(page, "vic")
    page.goto("/models/fraud-detector/versions/3/card/")
    expect(page.locator("#section-risks_limitations em")).to_have_text("holiday")
    expect(page.get_by_role("link", name="Edit the card")).to_have_count(0)
    response = page.goto("/models/fraud-detector/versions/3/card/edit/")
    assert response.status == 403
