"""The audit trail export report (governance/reports/audit_export.py): the events the
requester may read, in the scope's period and model, streamed in batches, each row still
matching its hash."""

import csv
import hashlib
import io
import json
import re
from datetime import date, datetime
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import access, audit, exports
from governance.models import AuditEvent, Report
from governance.reports import audit_export
from governance.reports.scope import ReportScope
from tests.conftest import client_for, downloaded_bytes, wait_for_job
from tests.factories import make_model, make_user

JANUARY = {"period_start": date(2026, 1, 1), "period_end": date(2026, 1, 31)}


def at(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def record_at(moment, *, action, model=None, actor="system") -> AuditEvent:
    with mock.patch.object(audit.timezone, "now", return_value=moment), transaction.atomic():
        return audit.record(
            actor=actor,
            action=action,
            after={"note": f"{action} «{moment:%Y-%m-%d}»", "score": 0.1234567890123},
            registered_model_id=model.pk if model else None,
        )


@pytest.fixture
def churn(other_scientist):
    return make_model(other_scientist, name="churn-model")


@pytest.fixture
def timeline(model, churn):
    """Events around January 2026, the period the tests export."""
    return {
        "before": record_at(at(2025, 12, 31, 23, 59, 59), action="test.before", model=model),
        "fraud": record_at(at(2026, 1, 1), action="test.fraud", model=model),
        "churn": record_at(at(2026, 1, 15, 12), action="test.churn", model=churn),
        "system": record_at(at(2026, 1, 20), action="test.system"),
        "fraud_late": record_at(at(2026, 1, 31, 23, 59), action="test.fraud_late", model=model),
        "after": record_at(at(2026, 2, 1), action="test.after", model=model),
    }


@pytest.fixture
def narrowed_auditor(db, model):
    """An auditor whose registry-wide view was taken away, granted one model only."""
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.clear()
    user = make_user("nora", access.ROLE_AUDITORS)
    access.grant(model, "view", user=user)
    return user


def export(user, fmt="jsonl", calls=None, **scope) -> bytes:
    out = io.BytesIO()
    result = audit_export.write(
        user=user,
        scope=ReportScope(**scope),
        fmt=fmt,
        progress=lambda p, m: calls.append((p, m)) if calls is not None else None,
        out=out,
        now=timezone.now(),
    )
    assert result == ""
    return out.getvalue()


def rows(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


def rehashes(row: dict) -> bool:
    payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
    return hashlib.sha256(audit.canonical_json(payload).encode()).hexdigest() == row["hash"]


def test_jsonl_holds_the_period_and_every_row_rehashes(auditor, timeline):
    exported = rows(export(auditor, **JANUARY))
    expected = [timeline[k].pk for k in ("fraud", "churn", "system", "fraud_late")]
    assert [r["id"] for r in exported] == expected
    assert all(rehashes(r) for r in exported)
    assert set(exported[0]) == {"id", *audit.HASHED_FIELDS, "hash"}
    assert exported[0]["after"]["note"] == "test.fraud «2026-01-01»"


def test_csv_holds_the_same_rows(auditor, timeline):
    content = export(auditor, "csv", **JANUARY).decode()
    table = list(csv.DictReader(io.StringIO(content)))
    assert list(table[0]) == list(exports.COLUMNS)
    assert [int(r["id"]) for r in table] == [r["id"] for r in rows(export(auditor, **JANUARY))]
    assert json.loads(table[0]["after"])["score"] == 0.1234567890123


def test_a_whole_trail_export_is_one_unbroken_chain(auditor, timeline):
    exported = rows(export(auditor))
    assert len(exported) == AuditEvent.objects.count()
    previous = audit.GENESIS_HASH
    for row in exported:
        assert row["prev_hash"] == previous and rehashes(row)
        previous = row["hash"]


def test_narrowed_auditor_gets_only_the_models_granted(narrowed_auditor, timeline):
    exported = rows(export(narrowed_auditor, **JANUARY))
    assert [r["id"] for r in exported] == [timeline["fraud"].pk, timeline["fraud_late"].pk]
    # Outside January the same auditor still sees nothing of churn-model or the system.
    everything = rows(export(narrowed_auditor))
    assert {r["registered_model_id"] for r in everything} == {timeline["fraud"].registered_model_id}


def test_a_model_in_the_scope_narrows_the_export(registry_admin, timeline, churn):
    exported = rows(export(registry_admin, model=churn, **JANUARY))
    assert [r["id"] for r in exported] == [timeline["churn"].pk]


def test_someone_who_may_not_read_the_audit_log_gets_nothing(scientist, timeline):
    assert export(scientist, **JANUARY) == b""
    assert export(scientist, "csv").decode().splitlines() == [",".join(exports.COLUMNS)]


def test_events_recorded_while_it_is_written_are_left_out(auditor, timeline, model):
    late = []

    def progress(percent, message):
        if not late:
            late.append(record_at(at(2026, 1, 10), action="test.during", model=model))

    out = io.BytesIO()
    with mock.patch.object(exports, "EXPORT_BATCH_SIZE", 1):
        audit_export.write(
            user=auditor,
            scope=ReportScope(**JANUARY),
            fmt="jsonl",
            progress=progress,
            out=out,
            now=timezone.now(),
        )
    ids = [r["id"] for r in rows(out.getvalue())]
    assert late and late[0].pk not in ids and len(ids) == 4


def test_it_reads_in_batches_and_reports_progress_each_batch(auditor, timeline):
    total = AuditEvent.objects.count()
    calls = []
    with (
        mock.patch.object(exports, "EXPORT_BATCH_SIZE", 2),
        CaptureQueriesContext(connection) as queries,
    ):
        content = export(auditor, calls=calls)
    assert len(rows(content)) == total
    batch_queries = [
        q["sql"]
        for q in queries.captured_queries
        if '"governance_auditevent"' in q["sql"] and re.search(r"LIMIT 2\b", q["sql"])
    ]
    # A keyset query per batch of 2 (the last one short or empty); never the whole table.
    assert total >= 6 and len(batch_queries) == total // 2 + 1
    percents = [p for p, _ in calls]
    assert percents == sorted(percents) and percents[0] == 0 and percents[-1] == 100
    assert len(percents) >= len(batch_queries)  # one call per batch, plus start and end


def test_only_jsonl_and_csv(auditor):
    with pytest.raises(ValueError):
        export(auditor, "pdf")


def test_through_the_report_pipeline(auditor, model, timeline, django_capture_on_commit_callbacks):
    client = client_for(auditor)
    data = {"kind": "audit_export", "format": "jsonl", "model": model.name}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("governance:report-create"), data)
    report = Report.objects.get()
    wait_for_job(report.job_id)
    report.refresh_from_db()
    assert report.status == Report.Status.READY, report.message
    assert report.filename.endswith(".jsonl") and report.digest == ""
    content = downloaded_bytes(client.get(reverse("governance:report-download", args=[report.pk])))
    assert hashlib.sha256(content).hexdigest() == report.sha256
    exported = rows(content)
    assert all(rehashes(r) for r in exported)
    assert {r["registered_model_id"] for r in exported} == {model.pk}
    assert exported[-1]["action"] == "report.request"  # what asked for it; not report.ready
