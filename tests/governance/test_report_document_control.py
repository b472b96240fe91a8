"""Document control (governance/reports/control.py): every generated document names its
version per subject, its owner, what changed since the previous version and the approvals
it reflects, in a block at its start (HTML and PDF) and in its JSON."""

import io
import json
import zipfile

import jsonschema
import pytest

from governance.models import Report
from governance.reports import control
from governance.services import decision_record, transition_request_open
from registry.services.cards import card_save
from tests.conftest import client_for
from tests.governance.test_reports import SCHEMA, ask, fetch, newest_report, pdf_text


@pytest.fixture
def generate(auditor, django_capture_on_commit_callbacks):
    client = client_for(auditor)

    def run(fmt="json", kind="technical_documentation", version=None, **extra):
        if version is not None:
            extra.update(model=version.registered_model.name, version=version.version)
        ask(client, django_capture_on_commit_callbacks, kind=kind, format=fmt, **extra)
        report = newest_report()
        assert report.status == Report.Status.READY, report.message
        return report, fetch(client, report)

    return run


def control_of(content: bytes) -> dict:
    envelope = json.loads(content)
    jsonschema.validate(envelope, SCHEMA)
    return envelope["report"]["document_control"]


def test_version_one_then_unchanged_keeps_it_then_a_card_edit_makes_v2(
    generate, auditor, scientist, version
):
    first, content = generate(version=version)
    block = control_of(content)
    assert first.document_version == 1 and block["version"] == 1
    assert block["previous"] is None and block["changes"] == []
    assert block["owner"] == auditor.get_username()
    assert first.document_subject == f"version:{version.pk}"
    assert first.section_digests and first.document_content_digest == block["content_digest"]

    # Regenerated with the same content (another format, another day's requests and
    # downloads in the log): still v1, and it says so.
    again, pdf = generate("pdf", version=version)
    assert again.document_version == 1
    text = " ".join(pdf_text(pdf).split())
    assert "Document control" in text
    assert f"v1 (same content as v1, report #{first.pk})" in text
    again_json, content = generate(version=version)
    assert control_of(content)["same_content_as"] == 1

    # The model card's intended use changes: v2, and the change log names where.
    card_save(
        actor=scientist,
        version=version,
        sections={"intended_use": "Now also scores instant payments."},
    )
    second, content = generate(version=version)
    block = control_of(content)
    assert second.document_version == 2 and block["version"] == 2
    assert block["same_content_as"] is None
    assert block["previous"]["version"] == 1
    assert block["previous"]["report"] == again_json.pk
    changed = {c["title"]: c for c in block["changes"]}
    assert changed, block
    assert all(c["change"] == "changed" for c in block["changes"])
    assert any("Capabilities" in c["items"] for c in block["changes"]), block["changes"]
    # Only what changed is named: the risk management section did not.
    assert not any(c["section"] == "risk_management" for c in block["changes"])

    # The PDF of the same content is v2 again, with v2's previous version and change log.
    third, pdf = generate("pdf", version=version)
    assert third.document_version == 2
    text = " ".join(pdf_text(pdf).split())
    assert f"Document version v2 (same content as v2, report #{second.pk})" in text
    assert f"v1, report #{again_json.pk}" in text
    assert "Capabilities" in text.split("Changes since the previous version", 1)[1][:600]


def test_versions_are_counted_per_model_version(generate, scientist, version):
    from tests.factories import make_version

    other = make_version(scientist, version.registered_model)
    generate(version=version)
    card_save(actor=scientist, version=version, sections={"intended_use": "Changed."})
    assert generate(version=version)[0].document_version == 2
    report, content = generate(version=other)
    assert report.document_version == 1 and control_of(content)["previous"] is None


def test_the_block_lists_the_approvals_of_the_version(generate, scientist, approver, ready_version):
    request = transition_request_open(
        actor=scientist,
        version=ready_version,
        target_stage="Staging",
        justification="Ready for shadow traffic",
    )
    decision_record(
        actor=approver, request=request, outcome="approve", reason="Slices checked with ops"
    )
    _, content = generate(version=ready_version)
    (approval,) = control_of(content)["approvals"]
    assert approval["who"] == approver.get_username()
    assert approval["outcome"] == "Approved" and approval["stage"] == "Staging"
    assert approval["reason"] == "Slices checked with ops"
    assert approval["when"]
    _, html = generate("html", version=ready_version)
    page = html.decode()
    block = page.split('id="document-control"', 1)[1].split('id="completeness"', 1)[0]
    assert "Approvals this document reflects" in block
    assert approver.get_username() in block and "Slices checked with ops" in block
    assert "Approved for Staging" in block
    _, pdf = generate("pdf", version=ready_version)
    text = " ".join(pdf_text(pdf).split())
    assert "Slices checked with ops" in text.split("Approvals this document reflects", 1)[1]


def test_an_inventory_is_versioned_per_scope_and_reflects_no_approval(generate, version):
    first, content = generate(kind="inventory")
    block = control_of(content)
    assert block["version"] == 1 and block["approvals"] == []
    assert block["approvals_basis"].startswith("none")
    assert generate(kind="inventory")[0].document_version == 1
    # Another scope is another document.
    narrowed, _ = generate(kind="inventory", risk_class="high")
    assert narrowed.document_subject != first.document_subject
    assert narrowed.document_version == 1


def test_the_evidence_bundles_technical_documentation_carries_the_block(generate, version):
    techdoc, _ = generate(version=version)
    _, content = generate("zip", kind="evidence_bundle", version=version)
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        envelope = json.loads(bundle.read("technical-documentation.json"))
    block = envelope["report"]["document_control"]
    assert block["version"] == 1 and block["same_content_as"] == 1
    assert block["same_content_report"] == techdoc.pk


def test_changes_between_names_added_changed_and_removed_sections():
    old = {
        "a": {"number": "1", "title": "A", "digest": "1", "items": {"x": ["X", "1"]}},
        "b": {"number": "2", "title": "B", "digest": "2", "items": {}},
    }
    new = {
        "a": {
            "number": "1",
            "title": "A",
            "digest": "9",
            "items": {"x": ["X", "9"], "y": ["Y", "1"]},
        },
        "c": {"number": "2", "title": "C", "digest": "3", "items": {}},
    }
    assert control.changes_between(old, new) == [
        {"section": "a", "number": "1", "title": "A", "change": "changed", "items": ["X", "Y"]},
        {"section": "c", "number": "2", "title": "C", "change": "added", "items": []},
        {"section": "b", "number": "2", "title": "B", "change": "removed", "items": []},
    ]


def test_the_report_page_shows_the_document_version(generate, auditor, scientist, version):
    from django.urls import reverse

    generate(version=version)
    card_save(actor=scientist, version=version, sections={"intended_use": "Changed again."})
    report, _ = generate(version=version)
    page = client_for(auditor).get(reverse("governance:report-detail", args=[report.pk]))
    text = " ".join(page.content.decode().split())
    shown = text.split("Document version</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert shown.startswith("v2 · changed since v1: ")
    assert "Monitoring, functioning and control" in shown


def test_an_audit_report_lists_the_decisions_of_its_period(
    generate, scientist, approver, ready_version
):
    from django.utils import timezone

    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Staging", justification="shadow"
    )
    decision_record(actor=approver, request=request, outcome="approve", reason="Looks right")
    today = timezone.localdate().isoformat()
    first, content = generate(kind="audit_report", period_start=today, period_end=today)
    block = control_of(content)
    assert [a["reason"] for a in block["approvals"]] == ["Looks right"]
    assert "period" in block["approvals_basis"]
    # A period with no decisions lists none, and another period is another document.
    other, content = generate(
        kind="audit_report", period_start="2020-01-01", period_end="2020-01-31"
    )
    assert control_of(content)["approvals"] == []
    assert other.document_subject != first.document_subject and other.document_version == 1
    again, content = generate(
        kind="audit_report", period_start="2020-01-01", period_end="2020-01-31"
    )
    # The report states the audit chain's verification as of when it is made, which moved
    # on: a new version whose change log names only that (and the cover's chain facts).
    block = control_of(content)
    assert again.document_version == 2
    assert {c["section"] for c in block["changes"]} == {"cover", "audit_chain"}
