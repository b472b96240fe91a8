"""Pickle scanning after an upload.

The malicious pickles here are written by hand, opcode by opcode; nothing in this file (or
in Attest) ever unpickles them. The scan runs in this process on the artifact store of
the test, whatever broker is configured, so its results can be read back at once.
"""

import pickle
import re

import pytest
from django.urls import reverse

from core.models import Job
from governance.models import AuditEvent
from registry import scanning
from registry.models import Artifact, ModelVersion
from registry.tasks import scan_version_artifacts
from tests.registry.conftest import post_upload

# GLOBAL os.system, MARK, STRING 'echo hi', TUPLE, REDUCE, STOP: calls os.system if loaded.
DANGEROUS = b"cos\nsystem\n(S'echo hi'\ntR."
# Two dangerous calls in one stream (the first result is POPped).
TWO_GLOBALS = b"cos\nsystem\n(S'echo hi'\ntR0csubprocess\ncall\n(S'ls'\ntR."
# Protocol 2 header, then the same calls: recognised by its first byte whatever its name.
DANGEROUS_PROTO2 = b"\x80\x02" + DANGEROUS
BENIGN = pickle.dumps({"weights": [0.1, 0.2], "bias": 0.5})

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")


def upload(client, model, files, capture):
    """Upload through the view and run what it queued on commit (the scan)."""
    with capture(execute=True) as callbacks:
        response = post_upload(client, model, files=list(files.items()))
    assert response.status_code == 302, response.content.decode()[:2000]
    version = ModelVersion.objects.get(registered_model=model, version=model_latest(model))
    return version, callbacks


def model_latest(model) -> int:
    model.refresh_from_db()
    return model.latest_version_number


def artifacts_by_path(version) -> dict[str, Artifact]:
    return {a.path: a for a in Artifact.objects.filter(model_version=version)}


def scan_events(version):
    return AuditEvent.objects.filter(action="artifact.scan", model_version_id=version.pk)


def test_pickles_are_scanned_after_upload(
    client, model, audit_count, django_capture_on_commit_callbacks
):
    files = {"evil.pkl": DANGEROUS, "benign.pkl": BENIGN, "config.json": b'{"a": 1}'}
    version, callbacks = upload(client, model, files, django_capture_on_commit_callbacks)

    assert len(callbacks) == 1, "exactly one scan is queued, after the commit"
    got = artifacts_by_path(version)
    assert got["evil.pkl"].scan_status == Artifact.ScanStatus.FLAGGED
    assert got["evil.pkl"].scan_findings == [
        {"module": "os", "name": "system", "safety": "dangerous"}
    ]
    assert got["benign.pkl"].scan_status == Artifact.ScanStatus.CLEAN
    assert got["benign.pkl"].scan_findings == []
    assert got["config.json"].scan_status == Artifact.ScanStatus.NOT_APPLICABLE
    assert got["config.json"].scanned_at is None
    assert got["evil.pkl"].scanned_at and got["benign.pkl"].scanned_at

    job = Job.objects.get(model_version_id=version.pk, kind="artifact_scan")
    assert (job.status, job.progress, job.attempts) == (Job.Status.SUCCEEDED, 100, 1)
    assert job.result == {"clean": 1, "flagged": 1, "error": 0, "not_applicable": 0}
    assert job.message == "Scanned: 1 clean, 1 flagged"

    # One version.create, and one artifact.scan per pickle artifact: nothing else.
    assert audit_count() == 3
    events = {e.target_id: e for e in scan_events(version)}
    assert set(events) == {str(got["evil.pkl"].pk), str(got["benign.pkl"].pk)}
    evil = events[str(got["evil.pkl"].pk)]
    assert evil.actor is None and evil.actor_username == "system:scanner"
    assert evil.before == {"scan_status": "pending", "scan_findings": []}
    assert evil.after == {
        "scan_status": "flagged",
        "scan_findings": [{"module": "os", "name": "system", "safety": "dangerous"}],
        "sha256": got["evil.pkl"].sha256,
    }
    assert events[str(got["benign.pkl"].pk)].after["scan_status"] == "clean"


def test_a_pickle_is_recognised_by_its_first_byte_whatever_its_name(
    client, model, django_capture_on_commit_callbacks
):
    files = {"weights.params": DANGEROUS_PROTO2, "readme.txt": b"hello"}
    version, _ = upload(client, model, files, django_capture_on_commit_callbacks)

    got = artifacts_by_path(version)
    assert got["weights.params"].scan_status == Artifact.ScanStatus.FLAGGED
    assert {(f["module"], f["name"]) for f in got["weights.params"].scan_findings} == {
        ("os", "system")
    }
    assert got["readme.txt"].scan_status == Artifact.ScanStatus.NOT_APPLICABLE


def test_a_long_name_keeps_the_extension_that_gets_it_scanned(
    client, model, django_capture_on_commit_callbacks
):
    """Protocol 0 has no magic byte: only the extension says this must be scanned."""
    version, _ = upload(
        client, model, {"m" * 300 + ".pkl": DANGEROUS}, django_capture_on_commit_callbacks
    )

    artifact = version.artifacts.get()
    assert artifact.path.endswith(".pkl")
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED


def test_a_dangerous_pickle_followed_by_junk_is_flagged_not_an_error(
    client, model, django_capture_on_commit_callbacks
):
    """pickle.load stops at the first STOP; the junk after it only trips the scanner.
    What the scanner did find is what the reviewer must see."""
    version, _ = upload(
        client,
        model,
        {"evil.pkl": DANGEROUS + b"\xff\xfe junk"},
        django_capture_on_commit_callbacks,
    )

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.FLAGGED
    assert artifact.scan_findings == [{"module": "os", "name": "system", "safety": "dangerous"}]


def test_a_file_the_scanner_cannot_read_is_a_scan_error(
    client, model, artifact_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_upload(client, model, files=[("model.pkl", BENIGN)])
    assert response.status_code == 302
    version = ModelVersion.objects.get(registered_model=model)
    (artifact_root / version.artifacts.get().storage_name).unlink()  # lost before the scan

    for callback in callbacks:
        callback()

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.ERROR
    assert len(artifact.scan_findings) == 1 and "error" in artifact.scan_findings[0]
    job = Job.objects.get(model_version_id=version.pk)
    assert job.status == Job.Status.FAILED
    assert job.result == {"clean": 0, "flagged": 0, "error": 1, "not_applicable": 0}
    assert job.message == "Scanned: 1 error"
    event = scan_events(version).get()
    assert event.after["scan_status"] == "error"


def test_no_pickle_no_scan_job(client, model, audit_count, django_capture_on_commit_callbacks):
    version, callbacks = upload(
        client,
        model,
        {"model.json": b"{}", "model.onnx": b"onnx"},
        django_capture_on_commit_callbacks,
    )

    assert callbacks == []
    assert not Job.objects.filter(model_version_id=version.pk).exists()
    assert set(version.artifacts.values_list("scan_status", flat=True)) == {"not_applicable"}
    assert audit_count() == 1


def test_rerunning_the_scan_records_nothing_new(
    client, model, audit_count, django_capture_on_commit_callbacks
):
    files = {"evil.pkl": TWO_GLOBALS, "benign.pkl": BENIGN}
    version, _ = upload(client, model, files, django_capture_on_commit_callbacks)
    job = Job.objects.get(model_version_id=version.pk)
    before = {a.pk: (a.scan_status, a.scan_findings, a.scanned_at) for a in version.artifacts.all()}
    events_after_first_run = audit_count()
    assert events_after_first_run == 3

    result = scan_version_artifacts.apply(args=[job.pk]).get()

    assert result == {"clean": 1, "flagged": 1, "error": 0, "not_applicable": 0}
    assert audit_count() == events_after_first_run
    after = {a.pk: (a.scan_status, a.scan_findings, a.scanned_at) for a in version.artifacts.all()}
    assert after == before
    job.refresh_from_db()
    assert (job.status, job.progress, job.attempts) == (Job.Status.SUCCEEDED, 100, 2)


def test_findings_are_listed_in_the_order_the_pickle_imports_them(
    client, model, audit_count, django_capture_on_commit_callbacks
):
    """The scanner lists globals as it reads them (picklescan used a set, whose order
    followed the process's hash seed): a retry on another worker records nothing new."""
    version, _ = upload(
        client, model, {"evil.pkl": TWO_GLOBALS}, django_capture_on_commit_callbacks
    )
    first = version.artifacts.get().scan_findings
    assert [(f["module"], f["name"]) for f in first] == [("os", "system"), ("subprocess", "call")]
    count = audit_count()

    job = Job.objects.get(model_version_id=version.pk)
    scan_version_artifacts.apply(args=[job.pk]).get()

    assert audit_count() == count
    assert version.artifacts.get().scan_findings == first


def test_remote_storage_is_scanned_from_a_temporary_copy(
    client, model, django_capture_on_commit_callbacks, monkeypatch, tmp_path
):
    """On S3 there is no local path: the file is streamed to a temporary copy, scanned,
    and the copy removed."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    monkeypatch.setattr(scanning.storage, "local_path_or_none", lambda name: None)

    version, _ = upload(
        client, model, {"evil.joblib": DANGEROUS}, django_capture_on_commit_callbacks
    )

    assert version.artifacts.get().scan_status == Artifact.ScanStatus.FLAGGED
    assert list(scratch.iterdir()) == []


def test_the_version_page_shows_the_flagged_badge(
    client, model, django_capture_on_commit_callbacks
):
    files = {"evil.pkl": DANGEROUS, "config.json": b"{}"}
    version, _ = upload(client, model, files, django_capture_on_commit_callbacks)

    response = client.get(reverse("registry:version-detail", args=[model.name, version.version]))

    assert response.status_code == 200
    content = response.content.decode()
    row = re.search(r"<tr>\s*<td><code>evil\.pkl</code></td>(.*?)</tr>", content, re.S)
    assert row, "no row for evil.pkl"
    assert '<span class="badge badge-danger">Flagged</span>' in row.group(1)
    assert "<code>os.system</code> (dangerous)" in row.group(1)
    json_row = re.search(r"<tr>\s*<td><code>config\.json</code></td>(.*?)</tr>", content, re.S)
    assert '<span class="badge badge-muted">Not a pickle format</span>' in json_row.group(1)

    panel = client.get(reverse("registry:artifact-panel", args=[model.name, version.version]))
    assert '<span class="badge badge-danger">Flagged</span>' in panel.content.decode()
    assert "hx-trigger" not in panel.content.decode(), "a finished scan stops the polling"
