"""The foundation journey, through the real UI in headless chromium.

A data scientist signs in, registers a model, uploads a version (file, metrics, a
parameter, lineage) with the XHR upload and its progress bar, finds the model with the
as-you-type search and opens it; an auditor then sees everything and can change nothing.
Only the accounts, a team and some neighbouring models are made in the database first.
"""

import hashlib
import re

import pytest
from playwright.sync_api import expect

from governance import access
from registry.models import ModelVersion, RegisteredModel
from tests.browser.conftest import SCREENSHOT_DIR, sign_in, sign_out
from tests.factories import make_model, make_team, make_user, make_version

pytestmark = pytest.mark.browser

TEAM = "Credit risk"
NEIGHBOURS = [
    # name, team, description, tags, number of versions, metrics of the latest
    (
        "fraud-detector",
        "Fraud analytics",
        "Gradient-boosted classifier that flags card transactions for fraud in real time.",
        {"domain": "payments", "pii": "yes"},
        4,
        {"auc": 0.91},
    ),
    (
        "churn-predictor",
        "Customer insights",
        "Monthly churn propensity for subscription customers.",
        {"domain": "marketing"},
        3,
        {"auc": 0.79},
    ),
    (
        "document-classifier",
        "Customer insights",
        "Routes incoming customer documents to the right support queue.",
        {"domain": "operations", "modality": "text"},
        2,
        {"accuracy": 0.93},
    ),
    (
        "aml-screening",
        "Fraud analytics",
        "Flags accounts for anti-money-laundering review by the compliance team.",
        {"domain": "compliance", "regulated": "amld6"},
        1,
        {"recall": 0.88},
    ),
]


def _scientist():
    """Dana: a data scientist in the model's team and in the neighbours' teams."""
    return make_user("dana", access.ROLE_DATA_SCIENTISTS, TEAM, *sorted({n[1] for n in NEIGHBOURS}))


def _neighbours(owner):
    """Models the scientist already owns: they fill the list and must not match the search."""
    for name, team, description, tags, versions, metrics in NEIGHBOURS:
        model = make_model(
            owner, name=name, team=make_team(team), description=description, tags=tags
        )
        for number in range(versions, 0, -1):  # the newest is the best so far
            worse = 0.01 * (number - 1)
            rows = [
                {"name": k, "value": round(v - worse, 4), "dataset": ""} for k, v in metrics.items()
            ]
            make_version(owner, model, metrics=rows)


def _wait_until(page, condition, what, timeout_ms=10_000):
    """Poll a Python-side condition while Playwright keeps dispatching its events."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def _no_write_controls(page):
    """No control on the page that could change anything: the only forms sign out or ask
    for a report (which reads the record and changes nothing in it)."""
    for name in ("Edit", "Upload a new version", "Register a model", "Upload the first version"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    forms = page.locator("form[method=post]:not([action$='/reports/new/'])")
    expect(forms).to_have_count(1)
    expect(forms.get_by_role("button")).to_have_text("Sign out")


def test_scientist_registers_uploads_and_finds_a_model_then_auditor_only_reads(
    page, live_server, tmp_path
):
    scientist = _scientist()
    make_user("aude", access.ROLE_AUDITORS)
    _neighbours(scientist)
    artifact = tmp_path / "weights.json"
    artifact.write_bytes(b'{"coef": [0.42, -1.7, 3.1], "intercept": 0.05}\n' * 40)
    sha256 = hashlib.sha256(artifact.read_bytes()).hexdigest()

    # 1. The data scientist signs in through the login form.
    sign_in(page, "dana")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()

    # 2. Registers a model through the "Register a model" form.
    page.get_by_role("link", name="Register a model").click()
    expect(page.get_by_role("heading", name="Register a model")).to_be_visible()
    page.get_by_label("Name").fill("loan-default-scorer")
    page.get_by_label("Description").fill(
        "Probability of **default** for consumer loan applications."
    )
    page.get_by_label("Team").select_option(label=TEAM)
    page.get_by_label("Tags").fill("domain=lending, regulated=eu-ai-act")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/models/loan-default-scorer/")
    expect(page.get_by_role("status")).to_contain_text("Registered loan-default-scorer")
    expect(page.get_by_role("heading", name="loan-default-scorer")).to_be_visible()
    expect(page.locator(".tag", has_text="regulated=eu-ai-act")).to_be_visible()

    # 3. Uploads a version: one file, two metrics, a parameter and some lineage.
    page.get_by_role("link", name="Upload a new version").click()
    expect(page.get_by_role("heading", name="Upload version 1 of")).to_be_visible()
    page.get_by_label("Drop files here or choose them").set_input_files(artifact)
    expect(page.locator("[data-file-list] li")).to_have_text(re.compile(r"^weights\.json \("))
    page.get_by_label("Metric 1 name").fill("auc")
    page.get_by_label("Metric 1 value").fill("0.912")
    page.get_by_label("Metric 2 name").fill("ks")
    page.get_by_label("Metric 2 value").fill("0.48")
    page.get_by_label("Metric 2 dataset / slice").fill("holdout-2025q1")
    page.get_by_label("Parameter 1 key").fill("max_depth")
    page.get_by_label("Parameter 1 value").fill("6")
    page.get_by_label("Training run id").fill("run-2025-11-001")
    page.get_by_label("Training dataset").fill("applications-2024q4")
    page.get_by_label("Framework", exact=True).fill("xgboost")

    # Hold the upload's response back to see the progress bar while it is in flight.
    progress = page.locator("[data-progress]")
    expect(progress).to_be_hidden()
    held = []
    page.route(
        "**/versions/new/",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.get_by_role("button", name="Upload version").click()
    expect(progress).to_be_visible()
    expect(progress.get_by_role("progressbar", name="Upload progress")).to_be_attached()
    expect(page.get_by_role("button", name="Upload version")).to_be_disabled()
    _wait_until(page, lambda: held, "the upload form to post")
    held[0].continue_()
    page.wait_for_url("**/models/loan-default-scorer/versions/1/")
    page.unroute("**/versions/new/")

    expect(page.get_by_role("status")).to_contain_text("Uploaded version 1 of loan-default-scorer")
    artifacts = page.locator("#artifact-panel")
    row = artifacts.get_by_role("row").filter(has_text="weights.json")
    expect(row).to_have_count(1)
    expect(row.locator("code.hash")).to_have_text(sha256)
    metrics = page.locator("section.card", has=page.get_by_role("heading", name="Metrics"))
    expect(metrics.get_by_role("row").filter(has_text="auc")).to_contain_text("0.912")
    expect(metrics.get_by_role("row").filter(has_text="ks")).to_contain_text("holdout-2025q1")
    params = page.locator("section.card", has=page.get_by_role("heading", name="Parameters"))
    expect(params.get_by_role("row").filter(has_text="max_depth")).to_contain_text("6")
    lineage = page.locator("section.card", has=page.get_by_role("heading", name="Lineage"))
    expect(lineage).to_contain_text("run-2025-11-001")
    expect(lineage).to_contain_text("applications-2024q4")
    expect(lineage).to_contain_text("xgboost")
    version = ModelVersion.objects.get(registered_model__name="loan-default-scorer")
    assert version.artifacts.get().sha256 == sha256

    # 4. Finds it with the live search: no submit, the table follows the typing.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url("**/models/")
    table = page.locator("#model-table")
    expect(table.get_by_role("link", name="churn-predictor")).to_be_visible()
    expect(table.get_by_role("status")).to_have_text("5 models")
    page.get_by_label("Search").press_sequentially("loan defa", delay=40)
    expect(table.get_by_role("status")).to_have_text("1 model matching “loan defa”")
    expect(table.get_by_role("link", name="loan-default-scorer")).to_be_visible()
    expect(table.get_by_role("link", name="churn-predictor")).to_have_count(0)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/models/\?q=loan(%20|\+)defa"))
    expect(page.get_by_label("Search")).to_be_focused()  # typing was never interrupted
    # Back with htmx's page cache gone asks the server again: it must answer the whole page.
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")
    page.go_back()
    expect(table.get_by_role("status")).to_have_text(re.compile(r"^\d+ models?"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_label("Search")).to_be_visible()
    table.get_by_role("link", name="loan-default-scorer").click()
    page.wait_for_url("**/models/loan-default-scorer/")
    page.locator("#version-table").get_by_role("link", name="v1", exact=True).click()
    page.wait_for_url("**/models/loan-default-scorer/versions/1/")
    expect(page.get_by_role("heading", name="loan-default-scorer v1")).to_be_visible()

    # 5. A screenshot of the model list for the README.
    page.goto("/models/")
    expect(table.locator("tbody tr")).to_have_count(5)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=SCREENSHOT_DIR / "model-list.png")

    # 6. An auditor sees everything and has no way to change anything.
    sign_out(page)
    sign_in(page, "aude")
    expect(page.locator("#model-table tbody tr")).to_have_count(5)
    _no_write_controls(page)
    page.locator("#model-table").get_by_role("link", name="loan-default-scorer").click()
    page.wait_for_url("**/models/loan-default-scorer/")
    expect(page.get_by_role("heading", name="loan-default-scorer")).to_be_visible()
    _no_write_controls(page)
    page.locator("#version-table").get_by_role("link", name="v1", exact=True).click()
    page.wait_for_url("**/models/loan-default-scorer/versions/1/")
    expect(page.locator("#artifact-panel code.hash")).to_have_text(sha256)
    _no_write_controls(page)
    for url in ("/models/loan-default-scorer/edit/", "/models/loan-default-scorer/versions/new/"):
        response = page.goto(url)
        assert response.status == 403, (url, response.status)
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    response = page.goto("/models/new/")
    assert response.status == 403
    assert RegisteredModel.objects.get(name="loan-default-scorer").versions.count() == 1


def test_upload_form_keeps_everything_typed_when_a_field_is_wrong(page, live_server, tmp_path):
    scientist = make_user("dana", access.ROLE_DATA_SCIENTISTS, TEAM)
    make_model(scientist, name="loan-default-scorer", team=make_team(TEAM))
    artifact = tmp_path / "model.json"
    artifact.write_text('{"weights": [1, 2, 3]}')

    sign_in(page, "dana")
    page.goto("/models/loan-default-scorer/versions/new/")
    files = page.get_by_label("Drop files here or choose them")
    files.set_input_files(artifact)
    page.get_by_label("Metric 1 name").fill("auc")  # and no value: the mistake
    page.get_by_label("Metric 2 name").fill("ks")
    page.get_by_label("Metric 2 value").fill("0.48")
    page.get_by_role("button", name="Add a metric").click()
    page.get_by_label("Metric 4 name").fill("gini")  # a row added by the script, also wrong
    page.get_by_label("Parameter 1 key").fill("max_depth")
    page.get_by_label("Parameter 1 value").fill("6")
    page.get_by_label("Training run id").fill("run-7")
    page.get_by_label("Training dataset").fill("applications-2024q4")
    page.get_by_label("Description").fill("Retrained on Q4 applications.")
    page.get_by_role("button", name="Upload version").click()

    first = page.locator('.field-errors[data-field="metrics-0-value"]')
    expect(first).to_have_text("Enter the metric's value.")
    expect(page.locator('.field-errors[data-field="metrics-3-value"]')).to_have_text(
        "Enter the metric's value."
    )
    expect(page.get_by_label("Metric 1 value")).to_have_accessible_description(
        "Enter the metric's value."
    )
    expect(page.get_by_role("button", name="Upload version")).to_be_enabled()
    expect(page.locator("[data-progress]")).to_be_hidden()
    assert page.url.endswith("/models/loan-default-scorer/versions/new/")
    # Everything typed is still there, the chosen file included.
    expect(page.get_by_label("Metric 1 name")).to_have_value("auc")
    expect(page.get_by_label("Metric 2 name")).to_have_value("ks")
    expect(page.get_by_label("Metric 2 value")).to_have_value("0.48")
    expect(page.get_by_label("Metric 4 name")).to_have_value("gini")
    expect(page.get_by_label("Parameter 1 key")).to_have_value("max_depth")
    expect(page.get_by_label("Parameter 1 value")).to_have_value("6")
    expect(page.get_by_label("Training run id")).to_have_value("run-7")
    expect(page.get_by_label("Training dataset")).to_have_value("applications-2024q4")
    expect(page.get_by_label("Description")).to_have_value("Retrained on Q4 applications.")
    assert files.evaluate("input => input.files.length") == 1
    assert files.evaluate("input => input.files[0].name") == "model.json"
    expect(page.locator("[data-file-list] li")).to_have_count(1)
    assert not ModelVersion.objects.exists()

    # Fixing the mistakes and sending again works, without choosing the file again.
    page.get_by_label("Metric 1 value").fill("0.91")
    page.get_by_label("Metric 4 name").fill("")
    page.get_by_role("button", name="Upload version").click()
    page.wait_for_url("**/models/loan-default-scorer/versions/1/")
    expect(page.locator("#artifact-panel")).to_contain_text("model.json")
    assert ModelVersion.objects.get().metrics.count() == 2
