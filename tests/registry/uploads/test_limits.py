"""Uploads through the version form that must leave nothing behind: empty files, the size
limit, bodies cut off and clients that disconnect.
"""

import hashlib
import io

import pytest

from registry import storage
from registry.models import Artifact, ModelVersion
from registry.services import version_create
from registry.services.versions import UploadFile, VersionInput
from tests.conftest import client_for
from tests.registry.conftest import (
    CONTENT_TYPE,
    NOTHING,
    encode_multipart,
    management,
    post_upload,
    row_counts,
    stored_files,
    upload_url,
)
from tests.registry.uploads.helpers import (
    assert_no_version_folders,
    assert_nothing_kept,
    field_errors,
    form_errors,
    page,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")


# --- empty files -------------------------------------------------------------------------


def test_empty_file_is_a_field_error(client, model, artifact_root, upload_tmp, audit_count):
    response = post_upload(client, model, files=[("empty.bin", b"")])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["empty.bin is empty."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_empty_file_next_to_a_good_one_keeps_nothing(
    client, model, artifact_root, upload_tmp, audit_count
):
    response = post_upload(client, model, files=[("model.json", b'{"w": 1}'), ("notes.txt", b"")])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["notes.txt is empty."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_no_file_at_all_is_a_field_error(client, model, artifact_root, upload_tmp, audit_count):
    response = post_upload(client, model, files=[], fields={"run_id": "run-1"})

    assert response.status_code == 400
    assert field_errors(response, "files") == ["Add at least one artifact file."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_service_refuses_an_empty_stream_and_deletes_what_it_stored(
    scientist, model, artifact_root, audit_count
):
    data = VersionInput(
        files=[
            UploadFile(io.BytesIO(b"first"), "first.bin"),
            UploadFile(io.BytesIO(b""), "second.bin"),
        ]
    )
    with pytest.raises(storage.ArtifactError, match="second.bin is empty"):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- the size limit ----------------------------------------------------------------------


def test_oversize_file_is_stopped_by_the_upload_handler(
    client, model, settings, artifact_root, upload_tmp, audit_count
):
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(
        client, model, files=[("small.json", b"{}" * 50), ("big.bin", b"x" * 5000)]
    )

    assert response.status_code == 400
    assert field_errors(response, "files") == [
        "big.bin: larger than the 1000 bytes limit for one file."
    ]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_file_of_exactly_the_limit_is_accepted(client, model, settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(client, model, files=[("exact.bin", b"x" * 1000)])

    assert response.status_code == 302
    artifact = Artifact.objects.get(model_version__registered_model=model)
    assert artifact.size == 1000
    assert len(stored_files(artifact_root)) == 1


def test_service_limit_applies_when_the_handler_does_not(
    client, model, settings, artifact_root, upload_tmp, audit_count
):
    """Defence in depth: with Django's plain handler the service still stops the file."""
    settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
    settings.ARTIFACT_MAX_BYTES = 1000
    response = post_upload(client, model, files=[("small.json", b"{}"), ("big.bin", b"x" * 5000)])

    assert response.status_code == 400
    assert field_errors(response, "files") == ["big.bin is larger than the 1000 bytes limit."]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_store_stream_raises_too_large_and_keeps_nothing(settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 10 * 1024
    stream = io.BytesIO(b"y" * (10 * 1024 + 1))
    with pytest.raises(storage.ArtifactTooLarge) as caught:
        storage.store_stream(stream, prefix="artifacts/1/abc", path="weights.bin")

    assert str(caught.value) == "weights.bin is larger than the 10.0 KB limit."
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)


def test_store_stream_accepts_exactly_the_limit(settings, artifact_root):
    settings.ARTIFACT_MAX_BYTES = 4096
    payload = bytes(range(256)) * 16
    stored = storage.store_stream(io.BytesIO(payload), prefix="artifacts/1/abc", path="w.bin")

    assert (stored.size, stored.sha256) == (4096, hashlib.sha256(payload).hexdigest())
    assert stored_files(artifact_root) == ["artifacts/1/abc/w.bin"]


def test_version_create_over_the_limit_deletes_files_already_stored(
    scientist, model, settings, artifact_root, audit_count
):
    settings.ARTIFACT_MAX_BYTES = 100
    data = VersionInput(
        files=[
            UploadFile(io.BytesIO(b"a" * 50), "ok.bin"),
            UploadFile(io.BytesIO(b"b" * 500), "big.bin"),
        ]
    )
    with pytest.raises(storage.ArtifactTooLarge, match="big.bin"):
        version_create(actor=scientist, registered_model=model, data=data)

    assert row_counts(model) == NOTHING
    assert stored_files(artifact_root) == []
    assert_no_version_folders(artifact_root)
    assert audit_count() == 0


# --- interrupted uploads -----------------------------------------------------------------


def _full_body(files_first=True):
    data = management() | {
        "run_id": "run-77",
        "dataset_name": "transactions",
        "metrics-0-name": "auc",
        "metrics-0-value": "0.91",
    }
    files = [("model.json", b'{"w": [1, 2, 3]}'), ("weights.bin", b"w" * 300_000)]
    return encode_multipart(data, files, files_first=files_first)


def _post_truncated(client, model, body: bytes, cut: int):
    """The client announced `len(body)` bytes but the connection ended after `cut`."""
    return _post_raw(client, model, io.BytesIO(body[:cut]), len(body))


def _post_raw(client, model, wsgi_input, content_length: int):
    """A request whose body comes from `wsgi_input` (RequestFactory only builds its own
    input, and its headers, when given the body itself)."""
    return client.generic(
        "POST",
        upload_url(model),
        CONTENT_TYPE=CONTENT_TYPE,
        CONTENT_LENGTH=str(content_length),
        **{"wsgi.input": wsgi_input},
    )


@pytest.mark.parametrize("files_first", [True, False], ids=["files-first", "fields-first"])
def test_body_cut_off_inside_a_file_keeps_nothing(
    quiet_client, model, artifact_root, upload_tmp, audit_count, files_first
):
    """Fields first (as curl -F may send them): the first file is whole, the second is
    cut; Django quietly drops the cut file, which must not become a one-file version."""
    client = quiet_client
    body = _full_body(files_first)
    cut = body.index(b"w" * 1000) + 150_000  # halfway through weights.bin

    response = _post_truncated(client, model, body, cut)

    assert response.status_code == 400
    assert "Traceback" not in page(response)
    assert any("interrupted" in e for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_body_cut_off_after_the_files_keeps_nothing(
    quiet_client, model, artifact_root, upload_tmp, audit_count
):
    """Both files arrived whole, the form fields after them did not: storing a version
    without its lineage and metrics would record something the user never sent."""
    client = quiet_client
    body = _full_body()
    cut = body.index(b'name="run_id"') - 20  # management form sent, lineage and metrics not

    response = _post_truncated(client, model, body, cut)

    assert response.status_code == 400
    assert any("interrupted" in e for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


class _DisconnectingInput:
    """A wsgi.input whose client goes away after `after` bytes."""

    def __init__(self, data: bytes, after: int):
        self._stream = io.BytesIO(data[:after])

    def read(self, size=-1):
        data = self._stream.read(size)
        if not data:
            raise ConnectionResetError(104, "Connection reset by peer")
        return data

    def readline(self, size=-1):
        return self._stream.readline(size)


def test_client_disconnect_mid_body_is_not_a_server_error(
    quiet_client, model, artifact_root, upload_tmp, audit_count
):
    client = quiet_client
    body = _full_body()
    cut = body.index(b"w" * 1000) + 100_000

    response = _post_raw(client, model, _DisconnectingInput(body, cut), len(body))

    assert response.status_code == 400
    assert "Traceback" not in page(response)
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_the_full_body_of_the_same_request_is_accepted(model, scientist, artifact_root):
    """The control for the interrupted cases: the very same body, delivered whole."""
    client = client_for(scientist)
    body = _full_body()
    response = _post_raw(client, model, io.BytesIO(body), len(body))

    assert response.status_code == 302, form_errors(response)
    version = ModelVersion.objects.get(registered_model=model)
    assert (version.run_id, version.dataset_name) == ("run-77", "transactions")
    assert sorted(a.path for a in version.artifacts.all()) == ["model.json", "weights.bin"]
    assert len(stored_files(artifact_root)) == 2
