"""Exports of the audit trail: streamed, complete, verifiable outside Attest."""

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import access, audit, exports
from governance.models import AuditEvent
from registry.services import model_update
from tests.conftest import client_for
from tests.factories import make_model, make_user, make_version
from tests.matrix import LOGIN, check_matrix

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def export_url(fmt):
    return reverse("governance:audit-export", args=[fmt])


@pytest.fixture
def trail(scientist, model, version, other_scientist):
    """A few events with nested, unicode and null-bearing snapshots."""
    model_update(
        actor=scientist,
        registered_model=model,
        description="Détecteur de fraude — v2 «beta»",
        tags={"pii": "no", "score": "0.5"},
    )
    make_version(
        scientist,
        model,
        metrics=[{"name": "auc", "value": 0.123456789012345, "dataset": "eu"}],
        lineage={"framework": "sklearn", "run_id": "run-2", "dataset_name": "cards 2025"},
    )
    other = make_model(other_scientist, name="churn-model")
    make_version(other_scientist, other)
    return other


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def jsonl_rows(response) -> list[dict]:
    return [json.loads(line) for line in body(response).decode().splitlines()]


# --- Offline verification: standard library only, no Django ---------------------------------


def offline_verify(lines, *, full: bool) -> int:
    """What an auditor runs outside Attest: hashlib and json only."""
    previous = "0" * 64
    count = 0
    for line in lines:
        row = json.loads(line)
        payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["hash"], row["id"]
        if full:
            assert row["prev_hash"] == previous, row["id"]
        previous = row["hash"]
        count += 1
    return count


def docs_snippet() -> str:
    text = DOCS.read_text()
    after = text.split("<!-- verify-export-snippet -->", 1)[1]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def run_docs_snippet(tmp_path, content: bytes, *args) -> subprocess.CompletedProcess:
    script = tmp_path / "verify_export.py"
    script.write_text(docs_snippet())
    export = tmp_path / "export.jsonl"
    export.write_bytes(content)
    # -I: isolated mode, no site-packages on the path from the project: only the stdlib.
    return subprocess.run(
        [sys.executable, "-I", str(script), str(export), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- Permissions and the export event -----------------------------------------------------


@pytest.fixture
def users(scientist, other_scientist, viewer, auditor, registry_admin):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "owner": scientist,
        "auditor": auditor,
        "admin": registry_admin,
    }


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_matrix(users, model, fmt):
    check_matrix(
        users,
        export_url(fmt),
        {
            "anonymous": LOGIN,
            "no_grant": 403,
            "viewer": 403,
            "owner": 403,
            "auditor": 200,
            "admin": 200,
        },
    )
    assert AuditEvent.objects.filter(action="audit.export").count() == 2


def test_each_export_is_one_event_recorded_before_streaming(auditor, trail, model):
    client = client_for(auditor)
    before = AuditEvent.objects.count()
    response = client.get(export_url("jsonl"), {"model": model.name, "action": "version."})
    assert AuditEvent.objects.count() == before + 1  # before a byte was read
    event = AuditEvent.objects.latest("id")
    assert event.action == "audit.export" and event.actor_username == "aude"
    assert event.after == {
        "format": "jsonl",
        "filters": {"model": model.name, "action": "version."},
    }
    assert response["X-Audit-Export-Event"] == str(event.pk)
    rows = jsonl_rows(response)
    assert AuditEvent.objects.count() == before + 1  # streaming writes nothing
    assert {r["action"] for r in rows} == {"version.create"}
    assert all(r["registered_model_id"] == model.pk for r in rows)
    assert all(r["id"] < event.pk for r in rows)
    assert 'attachment; filename="attest-audit-' in response["Content-Disposition"]


def test_invalid_filters_or_format_are_refused_without_an_event(auditor, model):
    client = client_for(auditor)
    before = AuditEvent.objects.count()
    assert client.get(export_url("csv"), {"version": "x"}).status_code == 400
    assert client.get(export_url("xlsx")).status_code == 400
    assert AuditEvent.objects.count() == before


# --- Content ------------------------------------------------------------------------------


def test_jsonl_rows_hold_exactly_the_hashed_payload_plus_id_and_hash(auditor, trail):
    rows = jsonl_rows(client_for(auditor).get(export_url("jsonl")))
    assert rows
    for row in rows:
        assert set(row) == {*audit.HASHED_FIELDS, "id", "hash"}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    stored = AuditEvent.objects.get(pk=rows[0]["id"])
    assert rows[0]["hash"] == stored.hash and rows[0]["prev_hash"] == stored.prev_hash


def events_before(event_id: int) -> int:
    return AuditEvent.objects.filter(id__lt=event_id).count()


def test_full_jsonl_export_verifies_offline(auditor, trail):
    response = client_for(auditor).get(export_url("jsonl"))
    lines = body(response).decode().splitlines()
    export_event = int(response["X-Audit-Export-Event"])
    # Every event before the export's own (ids need not start at 1: PostgreSQL sequences).
    assert offline_verify(lines, full=True) == events_before(export_event)
    assert json.loads(lines[0])["prev_hash"] == audit.GENESIS_HASH


def test_docs_snippet_verifies_an_export_and_names_a_tampered_line(auditor, trail, tmp_path):
    content = body(client_for(auditor).get(export_url("jsonl")))
    done = run_docs_snippet(tmp_path, content, "--full")
    assert done.returncode == 0, done.stderr
    assert "events verified" in done.stdout
    lines = content.decode().splitlines()
    row = json.loads(lines[2])
    row["actor_username"] = "mallory"
    lines[2] = json.dumps(row, ensure_ascii=False)
    tampered = run_docs_snippet(tmp_path, ("\n".join(lines) + "\n").encode(), "--full")
    assert tampered.returncode != 0
    assert f"line 3 (event {row['id']}): content does not match its hash" in tampered.stderr
    # Re-hashing the tampered line hides it from its own check but breaks the next link.
    payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
    row["hash"] = hashlib.sha256(audit.canonical_json(payload).encode()).hexdigest()
    lines[2] = json.dumps(row, ensure_ascii=False)
    rehashed = run_docs_snippet(tmp_path, ("\n".join(lines) + "\n").encode(), "--full")
    assert "line 4" in rehashed.stderr and "prev_hash breaks the chain" in rehashed.stderr


def test_filtered_export_verifies_each_line(auditor, trail, model):
    response = client_for(auditor).get(export_url("jsonl"), {"model": "churn-model"})
    lines = body(response).decode().splitlines()
    assert offline_verify(lines, full=False) == 2


def test_csv_columns_and_offline_verification(auditor, trail):
    response = client_for(auditor).get(export_url("csv"))
    assert response["Content-Type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(body(response).decode()))
    assert tuple(reader.fieldnames) == ("id", *audit.HASHED_FIELDS, "hash")
    rows = list(reader)
    assert len(rows) == events_before(int(response["X-Audit-Export-Event"]))
    previous = "0" * 64
    for row in rows:  # the CSV conventions from docs/audit.md, standard library only
        payload = {k: row[k] for k in audit.HASHED_FIELDS}
        for key in ("before", "after", "context"):
            payload[key] = json.loads(payload[key])
        for key in ("actor_id", "registered_model_id", "model_version_id"):
            payload[key] = int(payload[key]) if payload[key] else None
        payload["client_ip"] = payload["client_ip"] or None
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["hash"], row["id"]
        assert row["prev_hash"] == previous
        previous = row["hash"]
    update = next(r for r in rows if r["action"] == "model.update")
    assert json.loads(update["after"])["description"] == "Détecteur de fraude — v2 «beta»"


def test_export_respects_a_narrowed_auditors_scope(db, model, trail):
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.clear()
    nora = make_user("nora", access.ROLE_AUDITORS)
    access.grant(model, "view", user=nora)
    rows = jsonl_rows(client_for(nora).get(export_url("jsonl")))
    assert rows and {r["registered_model_id"] for r in rows} == {model.pk}
    assert offline_verify([json.dumps(r) for r in rows], full=False) == len(rows)


# --- Streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_streams_in_batches(auditor, trail, monkeypatch, fmt):
    monkeypatch.setattr(exports, "EXPORT_BATCH_SIZE", 2)
    client = client_for(auditor)
    response = client.get(export_url(fmt))
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    total = events_before(int(response["X-Audit-Export-Event"]))
    assert total >= 7
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
        if fmt == "csv":  # the header comes first, then the first batch
            first += next(chunks)
    # Nothing is read ahead: one batch query of at most 2 rows so far.
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1 and "LIMIT 2" in selects[0]
    with CaptureQueriesContext(connection) as queries:
        rest = list(chunks)
    batches = -(-total // 2)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # One query per remaining batch (plus one that finds nothing when the last is full).
    assert len(selects) in (batches - 1, batches)
    assert all("LIMIT 2" in sql for sql in selects)
    assert len(rest) == len(selects) - (1 if total % 2 == 0 else 0)
    lines = (first + b"".join(rest)).decode().splitlines()
    assert len(lines) == total + (1 if fmt == "csv" else 0)


def test_iter_batches_walks_by_id_with_constant_batch_size(auditor, trail):
    events = AuditEvent.objects.all()
    batches = list(exports.iter_batches(events, batch_size=3))
    assert all(len(b) <= 3 for b in batches)
    ids = [row[0] for b in batches for row in b]
    assert ids == sorted(events.values_list("id", flat=True))
