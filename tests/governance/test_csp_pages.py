"""Content-Security-Policy on every page of the role journeys.

The attacker is the hostile client of the trust model with a way to put markup into a page
(a card section, a model description, a reason): whatever slips past escaping must not run.
The policy allows scripts and styles only from our static files, so every page must work
without inline script, inline style, event-handler attributes or javascript: URLs; this
test fetches the pages and checks both the header and the markup."""

import re

import pytest
from django.urls import reverse

from governance.models import Report
from governance.services.tokens import token_create
from governance.services.transitions import transition_request_open
from governance.services.webhooks import webhook_create
from registry.csp import document_style_hash
from tests.conftest import client_for

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

SCRIPT_TAG = re.compile(r"<script\b(?P<attrs>[^>]*)>", re.I)
STYLE_ATTR = re.compile(r"""\sstyle\s*=""", re.I)
STYLE_TAG = re.compile(r"<style\b", re.I)
HANDLER_ATTR = re.compile(r"""<[a-z][^>]*\son[a-z]+\s*=""", re.I)
JS_URL = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)


def directives(header: str) -> dict[str, str]:
    parts = (p.strip() for p in header.split(";") if p.strip())
    return {p.split()[0]: " ".join(p.split()[1:]) for p in parts}


def assert_strict(response, url):
    header = response.get("Content-Security-Policy", "")
    assert header, f"{url}: no Content-Security-Policy"
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, url
    assert directives(header) == STRICT, f"{url}: {header}"


def assert_no_inline_code(html: str, url: str):
    for match in SCRIPT_TAG.finditer(html):
        assert "src=" in match.group("attrs"), f"{url}: inline <script>: {match.group(0)}"
    for pattern, what in (
        (STYLE_ATTR, "style attribute"),
        (STYLE_TAG, "<style> block"),
        (HANDLER_ATTR, "event-handler attribute"),
        (JS_URL, "javascript: URL"),
    ):
        found = pattern.search(html)
        if found:
            pytest.fail(f"{url}: {what}: …{html[max(0, found.start() - 80) : found.end() + 40]}…")


@pytest.fixture
def journey(settings, scientist, approver, auditor, registry_admin, model, ready_version):
    """Each role and the pages it works with (the URLs the view tests use)."""
    from governance import access

    access.grant(model, "approve", user=approver)
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Staging", justification="Shadow run"
    )
    token_create(actor=scientist, name="ci")
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = True  # no DNS in tests
    hook, _secret = webhook_create(
        actor=registry_admin,
        name="ops",
        url="http://127.0.0.1:9/attest",
        events=["version.created"],
        registered_model=model,
    )
    report = Report.objects.create(
        kind="technical_documentation",
        format="html",
        scope={"model": model.name, "version": 1},
        requested_by=auditor,
        requested_by_username=auditor.username,
        keep_until="2036-01-01",
    )
    v = [model.name, ready_version.version]
    scientist_pages = [
        reverse("registry:model-list"),
        reverse("registry:model-list") + "?q=fraud",
        reverse("registry:model-create"),
        reverse("registry:model-detail", args=[model.name]),
        reverse("registry:model-edit", args=[model.name]),
        reverse("registry:version-create", args=[model.name]),
        reverse("registry:version-detail", args=v),
        reverse("registry:artifact-panel", args=v),
        reverse("registry:card-detail", args=v),
        reverse("registry:card-edit", args=v),
        reverse("registry:card-revisions", args=v),
        reverse("registry:card-import", args=v),
        reverse("registry:compare", args=[model.name]),
        reverse("registry:compare", args=[model.name]) + "?v=1&v=1",
        reverse("governance:request-detail", args=[request.pk]),
        reverse("governance:request-open", args=v),
        reverse("governance:model-history", args=[model.name]),
        reverse("governance:model-access", args=[model.name]),
        reverse("governance:model-aliases", args=[model.name]),
        reverse("governance:model-risk-class", args=[model.name]),
        reverse("governance:compliance-upload", args=v),
        reverse("governance:version-archive", args=v),
        reverse("governance:report-list"),
        reverse("governance:token-list"),
        reverse("password_change"),
        reverse("password_change_done"),
        reverse("governance:queue-count"),
    ]
    approver_pages = [
        reverse("governance:queue"),
        reverse("governance:request-detail", args=[request.pk]),
        reverse("governance:model-rollback", args=[model.name]),
    ]
    auditor_pages = [
        reverse("governance:audit-log"),
        reverse("governance:audit-log") + "?action=version.create",
        reverse("governance:report-list"),
        reverse("governance:report-detail", args=[report.pk]),
    ]
    admin_pages = [
        reverse("governance:webhook-list"),
        reverse("governance:webhook-detail", args=[hook.pk]),
        reverse("governance:token-list-all"),
        reverse("admin:index"),
        reverse("admin:registry_registeredmodel_changelist"),
        reverse("admin:registry_registeredmodel_change", args=[model.pk]),
        reverse("admin:governance_auditevent_changelist"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_add"),
        reverse("admin:auth_user_change", args=[scientist.pk]),
        reverse("admin:auth_group_change", args=[scientist.groups.first().pk]),
        reverse("admin:governance_approvalpolicy_add"),
        reverse("admin:governance_protectedalias_add"),
    ]
    return [
        (None, [reverse("login")]),
        (scientist, scientist_pages),
        (approver, approver_pages),
        (auditor, auditor_pages),
        (registry_admin, admin_pages),
    ]


def test_every_page_has_a_strict_policy_and_no_inline_code(journey):
    seen = 0
    for user, urls in journey:
        client = client_for(user)
        for url in urls:
            for htmx in (False, True):
                headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
                response = client.get(url, **headers)
                assert response.status_code == 200, f"{url}: {response.status_code}"
                assert_strict(response, url)
                assert_no_inline_code(response.content.decode(), url)
                seen += 1
    assert seen >= 70


def test_error_pages_and_redirects_carry_the_policy(scientist, client):
    assert_strict(client.get(reverse("registry:model-list")), "anonymous redirect")
    missing = client_for(scientist).get("/models/no-such-model/")
    assert missing.status_code == 404
    assert_strict(missing, "404")
    assert_no_inline_code(missing.content.decode(), "404")


def test_htmx_may_neither_inject_styles_nor_evaluate_code(scientist, model):
    html = client_for(scientist).get(reverse("registry:model-list")).content.decode()
    config = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", html)
    assert config, "no htmx-config meta"
    import json

    assert json.loads(config.group(1)) == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
    }
    assert html.index('name="htmx-config"') < html.index("htmx-2")  # read before htmx starts
    assert "hx-on" not in html and "js:" not in html


def test_printable_card_allows_only_its_own_style_block(scientist, ready_version):
    url = reverse(
        "registry:card-export-html",
        args=[ready_version.registered_model.name, ready_version.version],
    )
    response = client_for(scientist).get(url)
    header = directives(response["Content-Security-Policy"])
    digest = document_style_hash("registry/card_print.css")
    assert header == {**STRICT, "style-src": digest}
    html = response.content.decode()
    blocks = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(blocks) == 1
    from registry.csp import style_hash

    assert style_hash(blocks[0]) == digest  # the browser would apply it
    assert STYLE_ATTR.search(html) is None and SCRIPT_TAG.search(html) is None


def test_inline_report_is_sandboxed_and_allows_only_its_style_block(
    auditor, ready_version, django_capture_on_commit_callbacks
):
    from governance.report_tasks import generate_report

    client = client_for(auditor)
    data = {
        "kind": "technical_documentation",
        "format": "html",
        "model": ready_version.registered_model.name,
        "version": ready_version.version,
    }
    client.post(reverse("governance:report-create"), data)
    report = Report.objects.get()
    generate_report.apply(args=[report.job_id])
    shown = client.get(reverse("governance:report-download", args=[report.pk]) + "?inline=1")
    header = shown["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    policy = directives(header)
    assert "sandbox" in policy and policy["default-src"] == "'none'"
    html = b"".join(shown.streaming_content).decode()
    (block,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    from registry.csp import style_hash

    assert policy["style-src"] == style_hash(block)
    assert STYLE_ATTR.search(html) is None and SCRIPT_TAG.search(html) is None


def test_pages_rendered_after_a_post_have_no_inline_code(
    settings, scientist, registry_admin, model, version
):
    """The one-time secret pages and forms shown again with errors: what a POST renders."""
    settings.ATTEST_WEBHOOK_ALLOW_PRIVATE = True
    posts = [
        (scientist, reverse("governance:token-list"), {"name": "pipeline", "scope": "read"}, 200),
        (
            registry_admin,
            reverse("governance:webhook-list"),
            {
                "name": "ops",
                "url": "http://127.0.0.1:9/hook",
                "events": ["version.created"],
                "model": model.pk,
            },
            200,
        ),
        (scientist, reverse("registry:model-create"), {"name": ""}, 400),
        (scientist, reverse("governance:token-list"), {"name": ""}, 400),
        (
            scientist,
            reverse("registry:card-preview", args=[model.name, version.version]),
            {"_preview": "intended_use", "intended_use": "**Bold** <b style='x'>b</b>"},
            200,
        ),
    ]
    for user, url, data, status in posts:
        response = client_for(user).post(url, data)
        assert response.status_code == status, (url, response.status_code)
        html = response.content.decode()
        if status == 200 and "preview" not in url:
            assert "data-select-on-focus" in html  # the secret is shown, selected on focus
        assert_strict(response, url)
        assert_no_inline_code(html, url)
