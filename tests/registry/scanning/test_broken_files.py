"""Issue 13: bombs and broken files are a fast "error" (which blocks), and the panel never
shows green beside a finding.
"""

import gzip
import pickle
import time
import zipfile

import pytest
from django.urls import reverse

from core.models import Job
from registry.models import Artifact
from tests.registry.scanning.helpers import OS_SYSTEM, scan_gate, statuses, upload, zip_bytes

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")


# --- Bombs and broken files: a fast "error" ----------------------------------------------


def _bomb_chunk() -> bytes:
    """1 MiB of a pickle that never ends: BINBYTES of 1 MiB, then POP; again and again."""
    return b"B" + (1 << 20).to_bytes(4, "little") + bytes(1 << 20) + b"0"


def test_a_gzip_bomb_is_a_fast_error(client, model, django_capture_on_commit_callbacks):
    """1 MB on disk, 2 GiB unpacked (gzip members of a never-ending pickle, back to back):
    stopped at the unpacked-bytes limit (512 MiB by default), in seconds."""
    member = gzip.compress(b"\x80\x04" + _bomb_chunk() * 64, compresslevel=9)
    bomb = member * 32
    assert len(bomb) < 8 * 1024 * 1024

    started = time.monotonic()
    version = upload(client, model, {"model.pkl.gz": bomb}, django_capture_on_commit_callbacks)
    elapsed = time.monotonic() - started

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.ERROR
    assert "unpacked" in artifact.scan_findings[0]["error"]
    assert elapsed < 30
    assert not scan_gate(version).passed


def test_a_zip_bomb_is_a_fast_error(settings, client, model, django_capture_on_commit_callbacks):
    settings.ATTEST_SCAN_MAX_BYTES = 16 * 1024 * 1024  # a small budget keeps the test quick
    bomb = zip_bytes({"archive/data.pkl": b"\x80\x02" + _bomb_chunk() * 64})

    started = time.monotonic()
    version = upload(client, model, {"model.pt": bomb}, django_capture_on_commit_callbacks)

    artifact = version.artifacts.get()
    assert artifact.scan_status == Artifact.ScanStatus.ERROR
    assert artifact.scan_findings[0]["member"] == "archive/data.pkl"
    assert time.monotonic() - started < 20


def test_too_many_members_and_too_deep_are_errors(
    settings, client, model, django_capture_on_commit_callbacks
):
    settings.ATTEST_SCAN_MAX_MEMBERS = 50
    many = zip_bytes({f"m{i}.txt": b"x" for i in range(60)}, method=zipfile.ZIP_STORED)
    deep = OS_SYSTEM
    for _ in range(6):
        deep = gzip.compress(deep)
    version = upload(
        client, model, {"many.zip": many, "deep.gz": deep}, django_capture_on_commit_callbacks
    )
    got = {a.path: a for a in version.artifacts.all()}
    assert got["many.zip"].scan_status == "error"
    assert "members" in got["many.zip"].scan_findings[0]["error"]
    assert got["deep.gz"].scan_status == "error"
    assert "nested" in got["deep.gz"].scan_findings[-1]["error"]


def test_a_truncated_pickle_or_corrupt_gzip_is_an_error(
    client, model, django_capture_on_commit_callbacks
):
    benign = pickle.dumps({"weights": list(range(100))}, protocol=4)
    version = upload(
        client,
        model,
        {"cut.pkl": benign[:-20], "bad.gz": gzip.compress(benign)[:-30]},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {"cut.pkl": "error", "bad.gz": "error"}
    assert not scan_gate(version).passed


# --- What people see ----------------------------------------------------------------------


def test_the_panel_never_shows_green_beside_a_finding(
    client, model, django_capture_on_commit_callbacks
):
    version = upload(
        client,
        model,
        {"evil.pkl": OS_SYSTEM, "config.json": b"{}"},
        django_capture_on_commit_callbacks,
    )
    panel = client.get(reverse("registry:artifact-panel", args=[model.name, version.version]))
    html = panel.content.decode()
    assert "Pickle scan · Flagged" in html
    assert "badge-ok" not in html
    assert html.count(" download>") == 1  # config.json only; evil.pkl leads to a confirmation
    job = Job.objects.get(model_version_id=version.pk)
    assert job.status == Job.Status.SUCCEEDED and job.outcome == "flagged"


def test_a_legacy_clean_verdict_with_findings_is_not_shown_clean_and_blocks(
    client, model, version, django_capture_on_commit_callbacks
):
    """Rows an older scanner left as "clean" while listing a suspicious global."""
    version.artifacts.update(
        scan_status="clean",
        scan_findings=[{"module": "code", "name": "InteractiveConsole.push", "safety": "x"}],
    )
    html = client.get(
        reverse("registry:artifact-panel", args=[model.name, version.version])
    ).content.decode()
    assert "Re-scan needed" in html and ">Clean<" not in html
    assert "Download…" in html and " download>" not in html  # leads to the confirmation
    gate = scan_gate(version)
    assert not gate.passed and "re-scan" in gate.reason
