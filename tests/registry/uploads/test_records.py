"""What an upload records: nothing when storage or the database fails; on success, one audit
event with the hashes of the bytes sent, version numbers per model, exact sizes.
"""

import hashlib
import io

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

from governance.models import AuditEvent
from registry.models import Artifact, ModelVersion
from registry.services import version_create
from registry.services.versions import UploadFile, VersionInput
from tests.factories import make_model
from tests.registry.conftest import NOTHING, post_upload, row_counts, stored_files
from tests.registry.uploads.helpers import (
    assert_no_version_folders,
    assert_nothing_kept,
    form_errors,
    page,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")


# --- storage failures --------------------------------------------------------------------


def test_storage_failure_on_the_second_file_keeps_nothing(
    client, model, artifact_root, upload_tmp, audit_count, monkeypatch
):
    real_save = FileSystemStorage._save
    calls = []

    def failing_save(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(13, "Permission denied", "/srv/secret/location/" + name)
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing_save)
    response = post_upload(
        client, model, files=[("first.json", b'{"a": 1}'), ("second.bin", b"\x00" * 2048)]
    )

    assert len(calls) == 2, "the fault was not reached"
    assert response.status_code == 400
    errors = form_errors(response)
    assert errors == ["Storing second.bin failed. Nothing was saved; please try again."]
    assert "/srv/secret" not in page(response), "a server path leaked to the user"
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_database_failure_after_storing_deletes_the_files(
    scientist, model, artifact_root, audit_count, monkeypatch
):
    def broken_record(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("registry.services.versions.audit.record", broken_record)
    data = VersionInput(
        files=[UploadFile(io.BytesIO(b"a"), "a.bin"), UploadFile(io.BytesIO(b"b"), "b.bin")]
    )
    with pytest.raises(RuntimeError):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- what a successful upload records ----------------------------------------------------


def test_one_audit_event_with_the_hashes_of_the_bytes_sent(
    client, scientist, model, artifact_root, audit_count
):
    files = {"model.json": b'{"weights": [0.1, 0.2]}', "requirements.txt": b"xgboost==2.1.1\n"}
    response = post_upload(
        client,
        model,
        files=list(files.items()),
        fields={"metrics-0-name": "auc", "metrics-0-value": "0.9", "tags": "team=fraud"},
    )

    assert response.status_code == 302
    version = ModelVersion.objects.get(registered_model=model)
    assert response["Location"] == version.get_absolute_url()
    assert audit_count() == 1
    event = AuditEvent.objects.get(action="version.create", model_version_id=version.pk)
    assert event.actor == scientist
    assert event.registered_model_id == model.pk
    expected = [
        {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(files.items())
    ]
    assert sorted(event.after["artifacts"], key=lambda a: a["path"]) == expected
    stored = {a.path: (a.size, a.sha256) for a in version.artifacts.all()}
    assert stored == {e["path"]: (e["size"], e["sha256"]) for e in expected}
    for artifact in version.artifacts.all():
        assert (artifact_root / artifact.storage_name).read_bytes() == files[artifact.path]


@pytest.fixture
def other_model(scientist, team):
    return make_model(scientist, name="churn-predictor", team=team)


def test_version_numbers_count_up_per_model(client, model, other_model, audit_count):
    other = other_model
    numbers = []
    for target in (model, model, other, model):
        response = post_upload(client, target, files=[("m.json", b"{}")])
        assert response.status_code == 302
        numbers.append((target.name, int(response["Location"].rstrip("/").rsplit("/", 1)[1])))

    assert numbers == [
        ("fraud-detector", 1),
        ("fraud-detector", 2),
        ("churn-predictor", 1),
        ("fraud-detector", 3),
    ]
    assert sorted(
        ModelVersion.objects.filter(registered_model=model).values_list("version", flat=True)
    ) == [1, 2, 3]
    assert audit_count() == 4
    assert AuditEvent.objects.filter(action="version.create").count() == 4


def test_a_multi_megabyte_file_is_hashed_and_measured_exactly(
    client, model, artifact_root, upload_tmp
):
    block = hashlib.sha256(b"seed").digest() * 1024  # 32 KB, not all one byte
    payload = block * 160 + b"tail"  # 5 MB and a bit
    assert len(payload) > django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    response = post_upload(client, model, files=[("model.bin", payload)])

    assert response.status_code == 302
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.size == len(payload)
    assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
    assert (artifact_root / artifact.storage_name).read_bytes() == payload
    event = AuditEvent.objects.get(action="version.create")
    assert event.after["artifacts"] == [
        {"path": "model.bin", "size": len(payload), "sha256": artifact.sha256}
    ]
    assert list(upload_tmp.iterdir()) == [], "the spooled upload was not removed"


def test_an_upload_script_gets_201_and_where_to_go(client, model):
    response = post_upload(
        client, model, files=[("m.json", b"{}")], headers={"X-Requested-With": "XMLHttpRequest"}
    )

    assert response.status_code == 201
    version = ModelVersion.objects.get(registered_model=model)
    assert response["X-Redirect"] == version.get_absolute_url()


def test_read_only_user_is_refused_before_anything_is_stored(
    viewer_client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(viewer_client, model, files=[("m.json", b"{}")])

    assert response.status_code == 403
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_service_validation_errors_reach_the_form(client, model, monkeypatch):
    """Errors the service raises (not the form) are shown, and the request is a 400."""

    def refuse(**kwargs):
        raise ValidationError(["First problem.", "Second problem."])

    monkeypatch.setattr("registry.views.versions.version_create", refuse)
    response = post_upload(client, model, files=[("m.json", b"{}")])

    assert response.status_code == 400
    assert form_errors(response) == ["First problem.", "Second problem."]
