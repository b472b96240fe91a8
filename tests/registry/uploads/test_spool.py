"""Uploads hashed while they spool, then moved (not copied) into local storage; requests fed
through gunicorn's own body classes and core/wsgi_input.py, as in production.

Each file is larger than the upload handler's 1 MiB chunk, so hash, size limit, head and
tail all cross chunk boundaries.
"""

import hashlib
import os
import tempfile

import pytest
from django.test import RequestFactory

from core.wsgi_input import SocketBody
from registry import storage
from registry.models import Artifact
from registry.uploads import HashedUpload, SizeLimitedUploadHandler
from tests.gunicorn_body import gunicorn_body
from tests.registry.conftest import (
    CONTENT_TYPE,
    encode_multipart,
    management,
    stored_files,
    upload_url,
)
from tests.registry.uploads.helpers import assert_nothing_kept, field_errors, form_errors

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp")

MIB = 1024 * 1024
ZIP_END = b"PK\x05\x06" + bytes(18)  # a zip's end record: the scanner must look inside


def _text(size: int) -> bytes:
    line = b"a plain line of text, nothing to unpickle here\n"
    return (line * (size // len(line) + 1))[:size]


def _post_through_gunicorn(client, model, body: bytes, *, send=None):
    wsgi_input = SocketBody.wrap(gunicorn_body(body, send=send, read_ahead=4096))
    return client.generic(
        "POST",
        upload_url(model),
        CONTENT_TYPE=CONTENT_TYPE,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": wsgi_input},
    )


def _spooled(content: bytes, name="weights.bin") -> HashedUpload:
    """A file as the upload handler leaves it once the parser has fed it every chunk."""
    handler = SizeLimitedUploadHandler(RequestFactory().post("/"))
    handler.new_file("files", name, "application/octet-stream", len(content))
    for start in range(0, len(content), handler.chunk_size):
        handler.receive_data_chunk(content[start : start + handler.chunk_size], start)
    return handler.file_complete(len(content))


def test_a_large_upload_is_hashed_as_it_spools_and_its_zip_tail_seen(
    client, model, artifact_root, upload_tmp
):
    zipped_tail = _text(3 * MIB + 123) + ZIP_END
    plain = _text(2 * MIB + 7)
    body = encode_multipart(management(0, 0), [("data.txt", zipped_tail), ("notes.txt", plain)])
    response = _post_through_gunicorn(client, model, body)

    assert response.status_code == 302, form_errors(response)
    artifacts = {a.path: a for a in Artifact.objects.filter(model_version__registered_model=model)}
    for path, content in (("data.txt", zipped_tail), ("notes.txt", plain)):
        assert artifacts[path].sha256 == hashlib.sha256(content).hexdigest()
        assert artifacts[path].size == len(content)
        assert (artifact_root / artifacts[path].storage_name).read_bytes() == content
    assert artifacts["data.txt"].scan_status == Artifact.ScanStatus.PENDING  # from its tail
    assert artifacts["notes.txt"].scan_status == Artifact.ScanStatus.NOT_APPLICABLE
    assert list(upload_tmp.iterdir()) == []


def test_a_spooled_upload_is_moved_into_storage_not_copied(artifact_root, upload_tmp):
    content = os.urandom(2 * MIB + 5)
    upload = _spooled(content)
    spooled_path = upload.temporary_file_path()
    spooled_inode = os.stat(spooled_path).st_ino

    stored = storage.store_stream(upload, prefix="artifacts/1/abc", path="weights.bin")

    target = artifact_root / stored.storage_name
    assert os.stat(target).st_ino == spooled_inode  # the same file, renamed
    assert not os.path.exists(spooled_path)
    assert target.read_bytes() == content
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    upload.close()  # the temporary file is gone already: closing must not fail
    assert list(upload_tmp.iterdir()) == []


def test_a_spool_on_another_filesystem_is_copied_and_removed(settings, artifact_root):
    if not os.path.isdir("/dev/shm") or (
        os.stat("/dev/shm").st_dev == os.stat(artifact_root).st_dev
    ):
        pytest.skip("needs /dev/shm on a filesystem of its own")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as spool:
        settings.FILE_UPLOAD_TEMP_DIR = spool
        content = os.urandom(MIB + 3)
        upload = _spooled(content)

        stored = storage.store_stream(upload, prefix="artifacts/1/abc", path="w.bin")

        assert (artifact_root / stored.storage_name).read_bytes() == content
        assert stored.sha256 == hashlib.sha256(content).hexdigest()
        upload.close()
        assert os.listdir(spool) == []


def test_the_size_limit_passed_mid_stream_drops_the_spool_file(
    quiet_client, model, settings, artifact_root, upload_tmp, audit_count
):
    settings.ARTIFACT_MAX_BYTES = 3 * MIB // 2  # passed in the second chunk
    body = encode_multipart(
        management(0, 0), [("small.json", b"{}"), ("big.bin", os.urandom(3 * MIB))]
    )
    response = _post_through_gunicorn(quiet_client, model, body)

    assert response.status_code == 400
    assert field_errors(response, "files") == [
        "big.bin: larger than the 1.5 MB limit for one file."
    ]
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_prehashed_file_over_a_lowered_limit_is_refused(settings, artifact_root):
    upload = _spooled(os.urandom(MIB + 1))
    settings.ARTIFACT_MAX_BYTES = MIB  # lowered after the handler measured the file
    with pytest.raises(storage.ArtifactTooLarge):
        storage.store_stream(upload, prefix="artifacts/1/abc", path="w.bin")
    upload.close()
    assert stored_files(artifact_root) == []


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    quiet_client, model, artifact_root, upload_tmp, audit_count, fraction
):
    body = encode_multipart(
        management(0, 0), [("model.json", b"{}"), ("weights.bin", os.urandom(4 * MIB))]
    )
    response = _post_through_gunicorn(quiet_client, model, body, send=int(len(body) * fraction))

    assert response.status_code == 400
    assert any("interrupted" in e for e in form_errors(response))
    assert_nothing_kept(model, artifact_root, upload_tmp, audit_count)


def test_a_spool_directory_on_another_filesystem_is_warned_about(settings, artifact_root):
    from registry.checks import check_spool_on_artifact_disk

    assert check_spool_on_artifact_disk() == []  # the fixtures' spool: same tmp filesystem
    if not os.path.isdir("/dev/shm") or (
        os.stat("/dev/shm").st_dev == os.stat(artifact_root).st_dev
    ):
        pytest.skip("needs /dev/shm on a filesystem of its own")
    settings.FILE_UPLOAD_TEMP_DIR = "/dev/shm"
    assert [w.id for w in check_spool_on_artifact_disk()] == ["registry.W022"]
