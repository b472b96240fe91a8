"""A file that makes the pickle reader raise (seen: a damaged zip whose central directory
gives a negative seek) is a scan error, never a crashed scan job."""

from registry import pickles, scanning
from registry.models import Artifact
from tests.factories import make_version


def test_a_reader_crash_is_a_scan_error(scientist, model, monkeypatch):
    def choke(*args, **kwargs):
        raise ValueError("negative seek value -22")

    monkeypatch.setattr(pickles, "scan_stream", choke)
    version = make_version(scientist, model, files={"model.pkl": b"PK\x05\x06" + b"\x00" * 18})
    artifact = Artifact.objects.get(model_version=version)
    status, findings = scanning.scan_stored_file(artifact.storage_name, artifact.path)
    assert status == "error"
    assert "ValueError" in findings[0]["error"]
