"""The governance journey, through the real UI in headless chromium.

A data scientist asks for Production from the version page; an approver (another person,
holding approve on the model) sees the request in the queue and in the navigation count,
opens it, approves it with a reason, and the version is in Production with the request
and the approval on its timeline. Only accounts, the model and its version are made in
the database first.
"""

import re

import pytest
from playwright.sync_api import expect

from governance import access
from governance.models import TransitionRequest
from governance.services import model_risk_class_set
from registry.models import ModelVersion, Stage
from tests.browser.conftest import SCREENSHOT_DIR, sign_in, sign_out
from tests.factories import make_model, make_team, make_user, make_version

pytestmark = pytest.mark.browser

TEAM = "Fraud analytics"


def _model_with_a_version(risk_class="limited"):
    team = make_team(TEAM)
    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS, TEAM)
    model = make_model(
        dana, name="fraud-detector", team=team, description="Flags card transactions."
    )
    version = make_version(dana, model, metrics=[{"name": "auc", "value": 0.91, "dataset": ""}])
    version.artifacts.update(scan_status="clean")
    if risk_class:
        model_risk_class_set(
            actor=dana, registered_model=model, risk_class=risk_class, rationale="internal tool"
        )
    return model, version


def test_scientist_requests_production_and_another_person_approves_it(page, live_server):
    model, version = _model_with_a_version()
    avery = make_user("avery", access.ROLE_APPROVERS)
    access.grant(model, "approve", user=avery)
    version_url = f"/models/{model.name}/versions/{version.version}/"

    # 1. The data scientist opens a request from the version page; the gates show first.
    sign_in(page, "dana")
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name=re.compile("^Approvals"))).to_have_count(0)
    page.goto(version_url)
    lifecycle = page.locator("#lifecycle")
    expect(lifecycle.get_by_role("heading", name="Lifecycle")).to_be_visible()
    gates = lifecycle.locator(".stage-gates", has_text="Production")
    expect(gates.get_by_role("row").filter(has_text="Risk class set")).to_contain_text("pass")
    expect(gates).to_contain_text("gates pass")
    lifecycle.get_by_label("Target stage").select_option("Production")
    lifecycle.get_by_label("Justification").fill(
        "AUC 0.91 on the Q4 holdout; fairness report attached."
    )
    expect(lifecycle.get_by_label("Archive the current Production version")).to_be_checked()
    lifecycle.get_by_role("button", name="Request approval").click()
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    request = TransitionRequest.objects.get()
    expect(page.get_by_role("status")).to_contain_text("Requested Production for fraud-detector v1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("fraud-detector v1 → Production")
    expect(page.locator("#request-status")).to_have_text("Pending")
    expect(page.locator("#progress-text")).to_have_text("0 of 1 approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # four-eyes
    expect(page.locator("#decide-refusal")).to_contain_text("you opened this request")
    expect(page.get_by_role("button", name="Withdraw this request")).to_be_visible()

    # 2. The approver sees it in the navigation count and in the queue.
    sign_out(page)
    sign_in(page, "avery")
    approvals = main_nav.get_by_role("link", name="Approvals (1)")
    expect(approvals).to_be_visible()
    approvals.click()
    page.wait_for_url("**/approvals/")
    queue = page.locator("#queue-table")
    expect(queue.get_by_role("status")).to_have_text("1 request awaiting your decision")
    row = queue.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("fraud-detector")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("Production")
    expect(row).to_contain_text("dana")
    expect(row).to_contain_text("pass")
    # The filters work as you type, without a submit.
    page.get_by_label("Model name").press_sequentially("churn", delay=30)
    expect(queue.get_by_role("status")).to_have_text("0 requests awaiting your decision (filtered)")
    expect(queue).to_contain_text("No pending request matches these filters.")
    expect(page).to_have_url(re.compile(r"/approvals/\?.*model=churn"))
    page.get_by_label("Model name").fill("fraud")
    expect(queue.locator("tbody tr")).to_have_count(1)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOT_DIR / "approval-queue.png")

    # 3. Opens it and approves with a reason; an empty reason is refused first.
    queue.get_by_role("link", name=re.compile(r"^Decide")).click()
    page.wait_for_url(re.compile(rf"/requests/{request.pk}/"))
    decide = page.locator("#decide")
    decide.get_by_role("button", name="Approve").click()
    expect(page.locator('.field-errors[data-field="reason"]')).to_have_text("A reason is required.")
    assert TransitionRequest.objects.get().is_pending
    page.locator("#decide").get_by_label("Reason", exact=True).fill(
        "Holdout metrics and fairness report checked."
    )
    page.locator("#decide").get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(rf"/requests/{request.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Approved: fraud-detector v1 is now in Production."
    )
    expect(page.locator("#request-status")).to_have_text("Approved")
    decisions = page.locator("section.card", has=page.get_by_role("heading", name="Decisions"))
    expect(decisions).to_contain_text("avery")
    expect(decisions).to_contain_text("Holdout metrics and fairness report checked.")
    expect(main_nav.get_by_role("link", name="Approvals (0)")).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOT_DIR / "request-approved.png", full_page=True)

    # 4. The version page shows Production, and its timeline the request and the approval.
    page.get_by_role("link", name="fraud-detector v1", exact=True).click()
    page.wait_for_url(f"**{version_url}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Production")
    timeline = page.locator("section.card", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline).to_contain_text("dana requested a move to Production")
    expect(timeline).to_contain_text("AUC 0.91 on the Q4 holdout")
    expect(timeline).to_contain_text("avery approved the move to Production")
    expect(timeline).to_contain_text("Holdout metrics and fairness report checked.")
    assert ModelVersion.objects.get(pk=version.pk).stage == Stage.PRODUCTION


def test_failing_gates_are_explained_and_the_request_form_keeps_its_input(page, live_server):
    model, version = _model_with_a_version(risk_class=None)  # unclassified: a gate fails
    sign_in(page, "dana")
    page.goto(f"/models/{model.name}/versions/{version.version}/")
    lifecycle = page.locator("#lifecycle")
    production = lifecycle.locator(".stage-gates", has_text="Production")
    expect(production).to_contain_text("blocked")
    expect(production.get_by_role("row").filter(has_text="Risk class set")).to_contain_text(
        "set the model's risk class first"
    )
    lifecycle.get_by_label("Target stage").select_option("Production")
    lifecycle.get_by_label("Justification").fill("Ship it before the holidays.")
    lifecycle.get_by_role("button", name="Request approval").click()
    page.wait_for_url("**/request/")
    expect(page.get_by_role("alert")).to_contain_text("Blocked by gates: Risk class set")
    expect(page.get_by_label("Justification")).to_have_value("Ship it before the holidays.")
    expect(page.get_by_label("Target stage")).to_have_value("Production")
    assert not TransitionRequest.objects.exists()

    # Setting the risk class on the model page (with a rationale) clears the gate.
    page.goto(f"/models/{model.name}/")
    panel = page.locator("#governance")
    panel.get_by_label("Risk class", exact=True).select_option("limited")
    panel.get_by_role("button", name="Save risk class").click()
    expect(page.locator('.field-errors[data-field="rationale"]')).to_have_text(
        "A rationale is required."
    )
    expect(page.get_by_label("Risk class", exact=True)).to_have_value("limited")
    page.get_by_label("Rationale").fill("Internal fraud triage, human in the loop.")
    page.get_by_role("button", name="Save risk class").click()
    page.wait_for_url(f"**/models/{model.name}/")
    expect(page.locator("#risk-class")).to_have_text("Limited")
    page.goto(f"/models/{model.name}/versions/{version.version}/")
    expect(page.locator("#lifecycle .stage-gates", has_text="Production")).to_contain_text(
        "gates pass"
    )
