"""The audit report builder (governance/reports/audit_report/): each section's rows from
real data made through the services, the period and scope filters, the permission
boundary (a model the requester cannot see never appears), the chain verification, and
the CSV table of every fact."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from governance import access, transparency
from governance.models import AuditEvent, Decision, TransitionRequest
from governance.reports import audit_report
from governance.reports.render import render
from governance.reports.scope import ReportScope
from governance.services import (
    decision_record,
    emergency_rollback,
    grant_assign,
    grant_revoke,
    model_risk_class_set,
    transition_request_open,
)
from registry.models import Stage
from registry.services.artifacts import artifact_download_record
from tests.factories import make_model, make_user, make_version

OLD_DAY = date(2024, 3, 10)
OLD_NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "governance/reports/schemas/report.schema.json"
    ).read_text()
)


def build(user, *, start=None, end=None, progress=None, **scope):
    today = timezone.localdate()
    scope = ReportScope(period_start=start or today, period_end=end or today, **scope)
    return audit_report.build(
        user=user,
        scope=scope,
        progress=progress or (lambda percent, message: None),
        now=timezone.now(),
    )


def item(doc, section: str, key: str) -> dict:
    for s in doc.as_dict()["sections"]:
        if s["key"] == section:
            for i in s["items"]:
                if i["key"] == key:
                    return i
    raise AssertionError(f"no item {section}/{key}")


def rows(doc, section: str, key: str) -> list[dict]:
    """The item's table as dicts (column -> cell); [] when the item says it is empty."""
    blocks = [b for b in item(doc, section, key)["blocks"] if b["type"] == "table"]
    if not blocks:
        return []
    columns = blocks[0]["columns"]
    return [dict(zip(columns, row, strict=True)) for row in blocks[0]["rows"]]


def csv_rows(doc, section: str | None = None) -> list[dict]:
    out = [dict(zip(doc.csv_columns, row, strict=True)) for row in doc.csv_rows]
    return [r for r in out if section is None or r["section"] == section]


def facts(doc) -> dict:
    return dict(doc.facts)


def open_request(actor, version, target="Production", justification="Better AUC"):
    return transition_request_open(
        actor=actor, version=version, target_stage=target, justification=justification
    )


def approve(approver, request, reason):
    return decision_record(actor=approver, request=request, outcome="approve", reason=reason)


@pytest.fixture
def history(
    scientist, approver, second_approver, registry_admin, viewer, ready_version, model, monkeypatch
):
    """A model's story: an old Staging approval, grant and download (in 2024), then today
    v1 and v2 approved for Production, an emergency rollback to v1 and its review, a
    grant and a revoke, and a download."""
    v1 = ready_version
    artifact = v1.artifacts.get()
    with monkeypatch.context() as m:
        # The clock of the audit trail, stage changes and decided_at; rows whose default
        # captured the real clock (created_at) are moved back below.
        m.setattr(timezone, "now", lambda: OLD_NOW)
        old_request = open_request(scientist, v1, "Staging", "Old staging move")
        approve(approver, old_request, "old staging ok")
        grant_assign(actor=scientist, registered_model=model, action="view", user=registry_admin)
        artifact_download_record(actor=viewer, artifact=artifact)
    TransitionRequest.objects.filter(pk=old_request.pk).update(created_at=OLD_NOW)
    Decision.objects.filter(request=old_request).update(created_at=OLD_NOW)

    approve(approver, open_request(scientist, v1, justification="v1 is ready"), "v1 ok")
    v2 = make_version(scientist, model)
    v2.artifacts.update(scan_status="clean")
    approve(approver, open_request(scientist, v2, justification="v2 is better"), "v2 ok")
    review = emergency_rollback(actor=approver, registered_model=model, reason="v2 drifts")
    approve(second_approver, review, "rollback was right")
    # (change, not approve: a model's managers no longer grant approve; issue 13)
    grant_assign(actor=scientist, registered_model=model, action="change", user=second_approver)
    grant_revoke(actor=scientist, registered_model=model, action="change", user=second_approver)
    artifact_download_record(actor=viewer, artifact=artifact)
    v1.refresh_from_db()
    v2.refresh_from_db()
    return {"v1": v1, "v2": v2, "review": review, "old_request": old_request}


@pytest.fixture
def secret(db, other_scientist):
    """A model the narrowed auditor cannot see, with a story of its own today."""
    model = make_model(other_scientist, name="secret-model")
    version = make_version(other_scientist, model)
    model_risk_class_set(
        actor=other_scientist, registered_model=model, risk_class="minimal", rationale="toy"
    )
    version.artifacts.update(scan_status="clean")
    hal = make_user("hal", access.ROLE_APPROVERS)
    access.grant(model, "approve", user=hal)
    approve(hal, open_request(other_scientist, version, justification="secret go"), "secret ok")
    grant_assign(actor=other_scientist, registered_model=model, action="view", user=hal)
    artifact_download_record(actor=other_scientist, artifact=version.artifacts.get())
    return model


@pytest.fixture
def narrowed_auditor(db, model):
    """An auditor whose registry-wide view was taken away, granted one model only."""
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.clear()
    user = make_user("nora", access.ROLE_AUDITORS)
    access.grant(model, "view", user=user)
    return user


# --- Each section --------------------------------------------------------------------------


def test_transitions_list_the_periods_requests_and_decisions(auditor, history, model):
    doc = build(auditor)
    requests = rows(doc, "transitions", "requests")
    assert [(r["Version"], r["Target stage"], r["Status"]) for r in requests] == [
        (1, "Production", "Approved"),
        (2, "Production", "Approved"),
    ]
    first = requests[0]
    assert first["Model"] == model.name and first["Requested by"] == "dana"
    assert first["Justification"] == "v1 is ready"
    assert "1 approval" in first["Policy"] and "SLA 72 h" in first["Policy"]
    assert "Risk class set" in first["Gates"]
    assert "passed when opened and re-checked when approved" in first["Gates"]
    assert first["Decided"] is not None
    decisions = rows(doc, "transitions", "decisions")
    assert [(d["Approver"], d["Outcome"], d["Reason"]) for d in decisions] == [
        ("avery", "Approved", "v1 ok"),
        ("avery", "Approved", "v2 ok"),
    ]
    assert decisions[0]["Approver groups"] == "Approvers"
    # The old Staging request (2024) is outside the period.
    assert "Old staging move" not in json.dumps(doc.as_dict())


def test_emergency_rollback_and_its_review(auditor, history, model):
    doc = build(auditor)
    (rollback,) = rows(doc, "emergency", "rollbacks")
    review = history["review"]
    assert rollback["Model"] == model.name
    assert (rollback["Rolled back from"], rollback["Restored"]) == ("v2", "v1")
    assert rollback["Archived"] == "v2" and rollback["By"] == "avery"
    assert rollback["Reason"] == "v2 drifts"
    assert rollback["Post-hoc review"] == f"#{review.pk} (approved)"
    (row,) = rows(doc, "emergency", "reviews")
    assert row["Review"] == f"#{review.pk}" and row["Version restored"] == 1
    assert row["Status"] == "Approved" and row["Opened by"] == "avery"
    assert "bea approved" in row["Decisions"] and "rollback was right" in row["Decisions"]
    # The review is not counted again among the ordinary transition requests.
    assert f"#{review.pk}" not in [r["Request"] for r in rows(doc, "transitions", "requests")]
    actions = [r["action"] for r in csv_rows(doc, "emergency")]
    assert actions.count("version.emergency_rollback") == 1
    assert "post_hoc_review" in actions and "transition.approve" in actions


def test_production_versions_and_their_evidence(auditor, history, model):
    doc = build(auditor)
    (row,) = rows(doc, "production", "versions")
    assert (row["Model"], row["Version"], row["Risk class"]) == (model.name, 1, "Limited")
    review = history["review"]
    approval = TransitionRequest.objects.get(
        model_version=history["v1"], target_stage="Production", kind="normal"
    )
    # v1's own approval, and the emergency rollback that brought it back with its review.
    assert row["Approving request"].startswith(f"#{approval.pk}, decided")
    assert f"post-hoc review #{review.pk} (approved)" in row["Approving request"]
    assert row["Approvals"].startswith("avery approved")
    assert "v1 ok" in row["Approvals"]
    assert f"review #{review.pk}: bea approved" in row["Approvals"]
    assert row["Card completeness"].startswith("0% (missing Model details")
    assert row["Artifact scans"] == "1 clean" and row["Hashed artifacts"] == "1 of 1"
    assert row["First approved for Production"] is not None
    (fact,) = csv_rows(doc, "production")
    assert (fact["model"], fact["version"], fact["actor"]) == (model.name, 1, "avery")
    assert fact["outcome"] == row["Card completeness"] and "1 of 1" in fact["detail"]


def test_requests_past_their_sla(auditor, scientist, approver, ready_version, model):
    long_ago = timezone.now() - timedelta(hours=100)
    pending = open_request(scientist, ready_version, "Staging", "waiting")
    decided_late = open_request(scientist, ready_version, "Production", "slow one")
    TransitionRequest.objects.filter(pk__in=[pending.pk, decided_late.pk]).update(
        created_at=long_ago
    )
    approve(approver, decided_late, "finally")
    v2 = make_version(scientist, model)
    v2.artifacts.update(scan_status="clean")
    approve(approver, open_request(scientist, v2, "Staging", "fast"), "quick")  # in time

    doc = build(auditor)
    late = {r["Request"]: r for r in rows(doc, "late_requests", "requests")}
    assert set(late) == {f"#{pending.pk}", f"#{decided_late.pk}"}
    assert late[f"#{pending.pk}"]["Status"] == "Pending"
    assert late[f"#{pending.pk}"]["SLA (hours)"] == 72
    assert 27 <= late[f"#{pending.pk}"]["Hours past due"] <= 29
    assert late[f"#{decided_late.pk}"]["Status"] == "Approved"
    # Opened before the period and untouched in it: late, but not a transition of the period.
    requests = [r["Request"] for r in rows(doc, "transitions", "requests")]
    assert f"#{pending.pk}" not in requests and f"#{decided_late.pk}" in requests
    assert len(csv_rows(doc, "late_requests")) == 2


def test_grant_changes_and_downloads(auditor, history, model, viewer):
    doc = build(auditor)
    grants = rows(doc, "grants", "changes")
    assert [(g["Change"], g["Permission"], g["Subject"], g["By"]) for g in grants] == [
        ("granted", "change", "user:bea", "dana"),
        ("revoked", "change", "user:bea", "dana"),
    ]
    (download,) = rows(doc, "downloads", "downloads")
    artifact = history["v1"].artifacts.get()
    assert download["What"] == "Artifact" and download["By"] == viewer.username
    assert (download["Model"], download["Version"]) == (model.name, 1)
    assert download["File"] == artifact.path and download["SHA-256"] == artifact.sha256


def test_events_outside_the_period_are_left_out(auditor, history, model):
    today = build(auditor)
    text = json.dumps(today.as_dict())
    assert "old staging ok" not in text and "user:ada" not in text
    assert len(rows(today, "downloads", "downloads")) == 1

    old = build(auditor, start=OLD_DAY, end=OLD_DAY)
    (request,) = rows(old, "transitions", "requests")
    assert request["Target stage"] == "Staging" and request["Justification"] == "Old staging move"
    assert [d["Reason"] for d in rows(old, "transitions", "decisions")] == ["old staging ok"]
    assert [g["Subject"] for g in rows(old, "grants", "changes")] == ["user:ada"]
    assert len(rows(old, "downloads", "downloads")) == 1
    assert rows(old, "emergency", "rollbacks") == []
    # Empty items say so, and still count as present.
    assert item(old, "emergency", "rollbacks")["blocks"] == [
        {"type": "text", "text": "No emergency rollback in this period."}
    ]
    assert old.completeness()["missing"] == []
    # Only the Production section speaks of today: it is the state at generation.
    old_text = json.dumps([s for s in old.as_dict()["sections"] if s["key"] != "production"])
    assert "v2 drifts" not in old_text and "v1 ok" not in old_text and "user:bea" not in old_text


# --- Who sees what -----------------------------------------------------------------------


def test_a_model_the_requester_cannot_see_appears_nowhere(narrowed_auditor, history, secret):
    doc = build(narrowed_auditor)
    text = json.dumps(doc.as_dict()) + json.dumps(doc.csv_rows)
    assert "secret-model" not in text
    assert "secret go" not in text and "secret ok" not in text and "user:hal" not in text
    # What the narrowed auditor may see is there.
    assert "fraud-detector" in text and len(rows(doc, "transitions", "requests")) == 2


def test_a_registry_wide_auditor_sees_every_model(auditor, history, secret):
    doc = build(auditor)
    assert {r["Model"] for r in rows(doc, "production", "versions")} == {
        "fraud-detector",
        "secret-model",
    }
    assert "secret-model" in json.dumps(doc.csv_rows)


def test_scope_narrows_by_model_team_and_risk_class(auditor, history, secret, model):
    by_model = build(auditor, model=secret)
    by_team = build(auditor, team=secret.team)
    by_risk = build(auditor, risk_class="minimal")
    for doc in (by_model, by_team, by_risk):
        text = json.dumps(doc.as_dict()) + json.dumps(doc.csv_rows)
        assert "secret-model" in text and "fraud-detector" not in text, doc.scope
        assert [r["Model"] for r in rows(doc, "production", "versions")] == ["secret-model"]
        assert [g["Subject"] for g in rows(doc, "grants", "changes")] == ["user:hal"]
    nothing = build(auditor, risk_class="high")
    assert [row[0] for row in nothing.csv_rows] == ["audit_chain"]


# --- The audit chain -----------------------------------------------------------------------


def test_chain_verification_is_reported(auditor, history):
    doc = build(auditor)
    checked = AuditEvent.objects.count()
    head = transparency.latest_tree_head()
    assert head.tree_size == checked  # the report signed a head over the whole log
    assert facts(doc)["Audit chain"] == (
        f"verified, {checked:,} events; signed tree head #{head.pk} ({checked:,} events) verified"
    )
    fields = dict(item(doc, "audit_chain", "verification")["blocks"][0]["rows"])
    assert fields["Events checked"] == checked
    assert fields["Result"].startswith("verified")
    assert fields["First bad event"] == "none"
    assert fields["Signed tree head covered"] == f"#{head.pk}: {checked:,} events"
    assert fields["Root hash"] == head.root_hash and fields["Signed with key"] == head.key_id
    assert fields["Signed log verification"].startswith("verified: 1 signed tree heads")
    (row,) = csv_rows(doc, "audit_chain")
    assert row["action"] == "audit.verify" and row["outcome"] == "verified"


def test_chain_verification_reports_tampering(auditor, history):
    target = AuditEvent.objects.order_by("id")[3]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As in test_audit: an owner first switches the guard off (rolled back after).
            cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE governance_auditevent SET actor_username = 'mallory' WHERE id = %s",
            [target.pk],
        )
    doc = build(auditor)
    fact = facts(doc)["Audit chain"]
    assert fact.startswith("FAILED after 3 events") and f"#{target.pk}" in fact
    fields = dict(item(doc, "audit_chain", "verification")["blocks"][0]["rows"])
    assert fields["Result"] == "FAILED: its content does not match its hash"
    assert fields["First bad event"].startswith(f"#{target.pk} (")
    (row,) = csv_rows(doc, "audit_chain")
    assert row["outcome"] == "failed"


def test_history_rewritten_under_a_signed_head_fails_the_report(auditor, history):
    old_head = transparency.tree_head_sign()
    target = AuditEvent.objects.order_by("id")[3]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE governance_auditevent SET hash = %s WHERE id = %s", ["e" * 64, target.pk]
        )
    doc = build(auditor)
    fields = dict(item(doc, "audit_chain", "verification")["blocks"][0]["rows"])
    assert fields["Signed log verification"].startswith("FAILED: ")
    assert f"signed tree head #{old_head.pk}" in fields["Signed log verification"]
    assert "signed log FAILED" in facts(doc)["Audit chain"]
    (row,) = csv_rows(doc, "audit_chain")
    assert row["outcome"] == "failed"


def test_every_report_cover_names_its_key_and_tree_head(auditor, history):
    from pypdf import PdfReader

    pdf = render(build(auditor), "pdf").content
    head = transparency.latest_tree_head()
    first_page = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().replace("\n", " ")
    assert f"Attest instance key {head.key_id}" in first_page
    assert f"signed tree head #{head.pk}: {head.tree_size} events" in first_page


# --- Formats and progress -------------------------------------------------------------------


def test_csv_is_one_table_of_every_fact_in_report_order(auditor, history):
    doc = build(auditor)
    assert doc.csv_columns == [
        "section",
        "occurred_at",
        "model",
        "version",
        "action",
        "actor",
        "outcome",
        "detail",
    ]
    sections = [r["section"] for r in csv_rows(doc)]
    order = [s.key for s in doc.sections]
    assert sections == sorted(sections, key=order.index)
    # No request ran late, no AI system exists and no access review was opened in this
    # history: those sections are empty.
    assert set(sections) == set(order) - {"late_requests", "ai_systems", "access_reviews"}
    assert sum(1 for r in csv_rows(doc, "transitions") if r["action"] == "transition.request") == 2
    assert [r["outcome"] for r in csv_rows(doc, "grants")] == ["granted", "revoked"]
    table = list(csv.reader(io.StringIO(render(doc, "csv").content.decode())))
    assert table[0] == doc.csv_columns and len(table) == len(doc.csv_rows) + 1


def test_json_validates_and_progress_is_reported(auditor, history):
    seen = []
    doc = build(auditor, progress=lambda percent, message: seen.append(percent))
    envelope = json.loads(render(doc, "json").content)
    jsonschema.validate(envelope, SCHEMA)
    assert envelope["report"]["kind"] == "audit_report"
    assert seen[0] < seen[-1] == 100 and seen == sorted(seen)
    assert "Emergency rollbacks" in render(doc, "html").content.decode()


def test_production_stage_is_the_state_at_generation(auditor, history):
    assert history["v2"].stage == Stage.ARCHIVED
    doc = build(auditor)
    assert [r["Version"] for r in rows(doc, "production", "versions")] == [1]
