"""Crash leftovers: a server killed mid-upload leaves a spooled temporary file and a stored
object that no row names. The sweep removes them once they are older than the grace
period, and never touches an upload still in flight or a file a row references.

The attacker here is the hostile client of the trust model: it can start uploads and cut
them off (or a crash does it for them) to fill the disk; the sweep is what bounds that."""

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from governance.models import AuditEvent
from registry import storage
from registry.services.sweep import ACTOR, CURSOR_KEY, storage_sweep
from tests.factories import make_version
from tests.registry.conftest import stored_files

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def _fresh_cursor():
    cache.delete(CURSOR_KEY)
    yield
    cache.delete(CURSOR_KEY)


def age(path: Path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def plant(prefix: str, name: str, content: bytes) -> str:
    """What a killed upload leaves: an object under a fresh prefix, no row."""
    return storage.store_stream(io.BytesIO(content), prefix=prefix, path=name).storage_name


def sweep_events():
    return AuditEvent.objects.filter(action="storage.sweep").order_by("pk")


def test_old_orphans_go_young_and_referenced_files_stay(
    db, settings, artifact_root, upload_tmp, scientist, model
):
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    version = make_version(scientist, model)  # its artifact is referenced by a row
    referenced = version.artifacts.get().storage_name
    age(artifact_root / referenced, 3 * DAY)
    old = plant("artifacts/99/" + "a" * 32, "model.pkl", b"x" * 1000)
    age(artifact_root / old, 2 * DAY)
    young = plant("artifacts/99/" + "b" * 32, "model.pkl", b"y" * 10)
    old_staged = plant("mlflow/" + "c" * 32, "weights.bin", b"z" * 20)
    age(artifact_root / old_staged, 2 * DAY)
    spool_old = upload_tmp / "tmpabc123.upload.pkl"
    spool_old.write_bytes(b"s" * 300)
    age(spool_old, 2 * DAY)
    spool_young = upload_tmp / "tmpdef456.upload.pkl"
    spool_young.write_bytes(b"t")
    not_ours = upload_tmp / "notes.txt"  # not a name Django spools to: left alone
    not_ours.write_bytes(b"n")
    age(not_ours, 2 * DAY)

    result = storage_sweep()

    assert sorted(stored_files(artifact_root)) == sorted([referenced, young])
    assert not (artifact_root / "artifacts/99" / ("a" * 32)).exists()  # its folder too
    assert sorted(p.name for p in upload_tmp.iterdir()) == ["notes.txt", "tmpdef456.upload.pkl"]
    assert result.kept_referenced == 1 and result.kept_young == 1
    event = sweep_events().get()
    assert event.actor_username == ACTOR and event.actor_id is None
    removed = {item["name"]: item["bytes"] for item in event.after["removed"]}
    assert removed == {old: 1000, old_staged: 20, "spool/tmpabc123.upload.pkl": 300}
    assert event.after["removed_bytes"] == 1320 and event.after["removed_count"] == 3


def test_a_second_run_finds_nothing_and_records_nothing(db, settings, artifact_root, upload_tmp):
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("reports/2026/01/" + "d" * 32, "report.pdf", b"%PDF")
    age(artifact_root / old, 2 * DAY)
    assert len(storage_sweep().removed) == 1
    again = storage_sweep()
    assert again.removed == [] and again.complete
    assert sweep_events().count() == 1


def test_rows_of_every_kind_protect_their_files(
    db, settings, artifact_root, upload_tmp, scientist, model, version
):
    """Reports and compliance documents name their files too; the sweep asks every model
    with a storage_name field, so none of them is mistaken for a leftover."""
    from governance.models import ComplianceDocument, Report
    from registry.models import StagedArtifact

    report_name = plant("reports/2026/01/" + "e" * 32, "r.pdf", b"%PDF")
    Report.objects.create(
        kind="audit_report",
        format="pdf",
        scope={},
        requested_by=scientist,
        requested_by_username=scientist.username,
        storage_name=report_name,
        keep_until=timezone.now() + timedelta(days=400),
    )
    doc_name = plant(f"compliance/{model.pk}/" + "f" * 32, "doc.pdf", b"%PDF-doc")
    ComplianceDocument.objects.create(
        model_version=version,
        kind="declaration_of_conformity",
        filename="doc.pdf",
        storage_name=doc_name,
        size=8,
        sha256="0" * 64,
        uploaded_by=scientist,
    )
    staged_name = plant("mlflow/" + "9" * 32, "model.pkl", b"staged")
    StagedArtifact.objects.create(
        path="1/runs/abc/artifacts/model.pkl", storage_name=staged_name, size=6, sha256="0" * 64
    )
    before = stored_files(artifact_root)
    result = storage_sweep(now=timezone.now() + timedelta(days=30))
    assert result.removed == []
    assert stored_files(artifact_root) == before
    assert sweep_events().count() == 0


def test_work_per_run_is_bounded_and_the_next_run_carries_on(
    db, settings, artifact_root, upload_tmp
):
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    settings.ATTEST_SWEEP_BATCH = 2
    names = [plant(f"artifacts/7/{c * 32}", "m.bin", b"m") for c in "12345"]
    later = timezone.now() + timedelta(days=2)
    first = storage_sweep(now=later)
    assert len(first.removed) == 2 and not first.complete
    second = storage_sweep(now=later)
    third = storage_sweep(now=later)
    removed = [i["name"] for r in (first, second, third) for i in r.removed]
    assert sorted(removed) == sorted(names)  # each exactly once, none skipped
    assert stored_files(artifact_root) == []
    assert third.complete or storage_sweep(now=later).removed == []


def test_command_reports_what_it_removed(db, settings, artifact_root, upload_tmp):
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("artifacts/3/" + "7" * 32, "model.pkl", b"q" * 2048)
    age(artifact_root / old, 2 * DAY)
    out = io.StringIO()
    call_command("sweep_uploads", stdout=out)
    assert "Removed 1 leftover(s), 2.0 KB" in out.getvalue()
    assert old in out.getvalue()
    assert sweep_events().get().source == "cli"
    quiet = io.StringIO()
    call_command("sweep_uploads", verbosity=0, stdout=quiet)  # as `start` runs it
    assert quiet.getvalue() == ""


def test_start_runs_the_sweep(db, settings, artifact_root, upload_tmp, monkeypatch):
    """The embedded default has no beat: `manage.py start` sweeps before it serves."""
    from governance.management.commands import start

    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("artifacts/4/" + "8" * 32, "model.pkl", b"k")
    age(artifact_root / old, 2 * DAY)
    called = []
    real_call = start.call_command

    def fake_call(name, *args, **kwargs):
        called.append(name)
        if name in ("sweep_uploads",):
            return real_call(name, *args, **kwargs)
        return None  # no migrate, no server

    monkeypatch.setattr(start, "call_command", fake_call)
    monkeypatch.setattr(start, "demo_needed", lambda: False)
    call_command("start", stdout=io.StringIO())
    assert "sweep_uploads" in called and "runserver" in called
    assert called.index("sweep_uploads") < called.index("runserver")
    assert stored_files(artifact_root) == []


def test_beat_runs_the_sweep_as_a_task(db, settings, artifact_root, upload_tmp):
    from registry.tasks import sweep_uploads

    assert settings.CELERY_BEAT_SCHEDULE["sweep-uploads"]["task"] == "registry.tasks.sweep_uploads"
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("artifacts/5/" + "6" * 32, "model.pkl", b"abc")
    age(artifact_root / old, 2 * DAY)
    assert sweep_uploads.apply().get() == {"removed": 1, "bytes": 3}
    assert sweep_events().get().source == "task"


def test_a_killed_form_upload_leaves_nothing_after_the_sweep(
    db, settings, artifact_root, upload_tmp, scientist, model
):
    """The finding itself: the process dies after the spool file and the stored object
    exist but before the row does. Simulated by stopping version_create before its
    transaction; nothing cleans up (the process is gone), so the sweep must."""
    from unittest import mock

    from registry.services import versions

    with (
        mock.patch.object(versions, "_write_version", side_effect=SystemExit("killed")),
        # A dead process runs none of its clean-up:
        mock.patch.object(versions.storage, "delete_quietly"),
        mock.patch.object(versions, "_queue_storage_purge"),
        pytest.raises(SystemExit),
    ):
        make_version(scientist, model, files={"big.bin": b"B" * 5000})
    leftovers = stored_files(artifact_root)
    assert len(leftovers) == 1 and leftovers[0].endswith("/big.bin")
    spool = upload_tmp / "tmpkilled.upload.bin"
    spool.write_bytes(b"B" * 5000)
    assert storage_sweep().removed == []  # younger than the grace: maybe still in flight
    result = storage_sweep(now=timezone.now() + timedelta(days=2))
    assert stored_files(artifact_root) == [] and list(upload_tmp.iterdir()) == []
    assert result.removed_bytes == 10000


def test_the_system_temp_dir_is_never_swept(db, settings, artifact_root, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = None  # Django's default: the system's temporary directory
    storage_sweep(now=timezone.now() + timedelta(days=365))  # must not touch /tmp
    assert sweep_events().count() == 0


def test_a_grace_shorter_than_an_hour_is_refused(db, settings, artifact_root):
    """A grace of seconds would take uploads still streaming in; the check and the sweep
    itself refuse it."""
    from django.core.exceptions import ImproperlyConfigured

    from registry.checks import check_sweep_grace

    settings.ATTEST_SWEEP_GRACE_SECONDS = 60
    assert [e.id for e in check_sweep_grace()] == ["registry.E020"]
    with pytest.raises(ImproperlyConfigured):
        storage_sweep()
    settings.ATTEST_SWEEP_GRACE_SECONDS = 3600
    assert check_sweep_grace() == []


def test_dry_run_lists_and_keeps_everything(db, settings, artifact_root, upload_tmp):
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("artifacts/6/" + "5" * 32, "model.pkl", b"w" * 10)
    age(artifact_root / old, 2 * DAY)
    out = io.StringIO()
    call_command("sweep_uploads", "--dry-run", stdout=out)
    assert "Would remove 1 leftover(s)" in out.getvalue() and old in out.getvalue()
    assert stored_files(artifact_root) == [old]
    assert sweep_events().count() == 0


def test_switched_off_the_beat_task_and_start_sweep_nothing(
    db, settings, artifact_root, upload_tmp, monkeypatch
):
    """While a database restored from an older backup meets the live bucket, the objects
    written since the backup have no rows: SWEEP_ENABLED=false keeps them."""
    from governance.management.commands import start
    from registry.tasks import sweep_uploads

    settings.ATTEST_SWEEP_ENABLED = False
    settings.ATTEST_SWEEP_GRACE_SECONDS = DAY
    old = plant("artifacts/6/" + "4" * 32, "model.pkl", b"w")
    age(artifact_root / old, 2 * DAY)
    assert sweep_uploads.apply().get() == {"skipped": "SWEEP_ENABLED is off"}
    called = []
    monkeypatch.setattr(start, "call_command", lambda name, *a, **k: called.append(name))
    monkeypatch.setattr(start, "demo_needed", lambda: False)
    call_command("start", stdout=io.StringIO())
    assert "sweep_uploads" not in called
    assert stored_files(artifact_root) == [old]
