"""The strict Content-Security-Policy in a real browser: the main pages of each role load,
htmx searches and filters, the compare charts draw, the one-time token is selected on
focus, and chromium reports no CSP violation anywhere (a blocked inline script or style,
an eval, a style htmx tried to inject)."""

import pytest
from playwright.sync_api import expect

from governance import access
from governance.services.transitions import transition_request_open
from registry.models import Artifact
from tests.browser.conftest import sign_in, sign_out
from tests.factories import make_model, make_team, make_user, make_version

pytestmark = pytest.mark.browser

# Registered before any page script runs (through the DevTools protocol, which the page's
# policy does not govern): every violation the page causes is kept for the test to read.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " +
                    (e.sourceFile || "") + ":" + (e.lineNumber || ""));
});
"""


def _world():
    team = make_team("Fraud analytics")
    scientist = make_user("dana", access.ROLE_DATA_SCIENTISTS, team.name)
    approver = make_user("avery", access.ROLE_APPROVERS)
    admin = make_user("ada", access.ROLE_REGISTRY_ADMINS)
    model = make_model(scientist, name="fraud-detector", team=team, description="Card **fraud**")
    for auc in (0.81, 0.86):
        make_version(scientist, model, metrics=[{"name": "auc", "value": auc, "dataset": ""}])
    from governance.services import model_risk_class_set

    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="internal"
    )
    Artifact.objects.update(scan_status="clean")
    access.grant(model, "approve", user=approver)
    version = model.versions.get(version=1)
    request = transition_request_open(
        actor=scientist, version=version, target_stage="Staging", justification="Shadow run"
    )
    return scientist, approver, admin, model, request


def _visit(page, url: str, violations: list):
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    page.wait_for_load_state("networkidle")
    violations.extend(f"{url}: {v}" for v in page.evaluate("window.__csp"))


def test_main_pages_run_under_the_policy_without_violations(page, live_server):
    scientist, approver, admin, model, request = _world()
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []  # chromium also logs each refusal to the console
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    violations: list[str] = []

    sign_in(page, scientist.username)
    for url in (
        "/models/",
        f"/models/{model.name}/",
        f"/models/{model.name}/versions/1/",
        f"/models/{model.name}/versions/1/card/",
        f"/models/{model.name}/versions/1/card/edit/",
        f"/models/{model.name}/versions/1/card/print/",
        f"/models/{model.name}/compare/?v=1&v=2",
        f"/models/{model.name}/versions/new/",
        f"/models/{model.name}/history/",
        f"/requests/{request.pk}/",
        "/reports/",
        "/accounts/tokens/",
    ):
        _visit(page, url, violations)

    # htmx under the policy: the live search swaps the table in without eval or styles.
    page.goto("/models/")
    page.get_by_label("Search").fill("fraud")
    expect(page.locator("#model-table")).to_contain_text("fraud-detector")
    # The compare charts are server-drawn SVG coloured by classes.
    page.goto(f"/models/{model.name}/compare/?v=1&v=2")
    expect(page.locator("svg.chart").first).to_be_visible()
    # A new token is shown once and selected when focused, without an inline handler.
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("pipeline")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token")
    expect(token).to_be_focused()
    selected = page.evaluate(
        "() => { const t = document.getElementById('new-token');"
        " return t.selectionEnd - t.selectionStart; }"
    )
    assert selected == len(token.input_value()) > 20
    violations.extend(page.evaluate("window.__csp"))
    sign_out(page)

    sign_in(page, approver.username)
    for url in ("/approvals/", f"/requests/{request.pk}/"):
        _visit(page, url, violations)
    page.goto("/approvals/")
    page.locator("#id_queue_model").fill("fraud")
    expect(page.locator("#queue-table")).to_contain_text("fraud-detector")
    violations.extend(page.evaluate("window.__csp"))
    sign_out(page)

    sign_in(page, admin.username)
    for url in ("/audit/", "/webhooks/", "/accounts/tokens/all/", "/admin/"):
        _visit(page, url, violations)
    page.goto("/audit/")
    page.locator("#audit-table").wait_for()
    violations.extend(page.evaluate("window.__csp"))

    assert violations == [], violations
    assert console == [], console
