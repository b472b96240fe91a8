"""Upload helpers: an isolated artifact store, an isolated upload spool directory, and a
multipart encoder that sends file names exactly as given (the test client's own encoder
keeps only the base name, so it cannot send a hostile one)."""

from pathlib import Path

import pytest
from django.urls import reverse

from registry.models import Artifact, Metric, ModelVersion, Param, VersionTag

BOUNDARY = "----AttestTestBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def artifact_root(settings, tmp_path) -> Path:
    """A FileSystemStorage of its own, so each test can walk everything that was stored."""
    root = tmp_path / "artifacts"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


@pytest.fixture
def upload_tmp(settings, tmp_path) -> Path:
    """Where Django spools uploads while the request streams in."""
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return spool


def stored_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def upload_url(model) -> str:
    return reverse("registry:version-create", args=[model.name])


def management(metrics=3, params=3) -> dict:
    return {
        "metrics-TOTAL_FORMS": str(metrics),
        "metrics-INITIAL_FORMS": "0",
        "params-TOTAL_FORMS": str(params),
        "params-INITIAL_FORMS": "0",
    }


def _quote(value: str) -> bytes:
    return value.replace('"', "%22").encode("utf-8")


def encode_multipart(fields=None, files=(), params_file=None, files_first=True) -> bytes:
    """fields: a dict (values may be lists); files: (name, bytes) pairs sent as `files`;
    params_file: an optional (name, bytes) sent as `params_file`."""
    field_parts = []
    for key, value in (fields or {}).items():
        for item in value if isinstance(value, list | tuple) else [value]:
            field_parts.append(
                b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                % (BOUNDARY.encode(), key.encode(), str(item).encode("utf-8"))
            )
    file_parts = []
    named = [("files", name, content) for name, content in files]
    if params_file is not None:
        named.append(("params_file", *params_file))
    for field, name, content in named:
        file_parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n%s\r\n"
            % (BOUNDARY.encode(), field.encode(), _quote(name), content)
        )
    parts = file_parts + field_parts if files_first else field_parts + file_parts
    return b"".join(parts) + b"--%s--\r\n" % BOUNDARY.encode()


def post_upload(client, model, files=(), fields=None, params_file=None, **extra):
    data = management() | (fields or {})
    body = encode_multipart(data, files, params_file)
    return client.generic("POST", upload_url(model), body, content_type=CONTENT_TYPE, **extra)


def row_counts(model) -> dict:
    return {
        "versions": ModelVersion.objects.filter(registered_model=model).count(),
        "artifacts": Artifact.objects.filter(model_version__registered_model=model).count(),
        "metrics": Metric.objects.filter(model_version__registered_model=model).count(),
        "params": Param.objects.filter(model_version__registered_model=model).count(),
        "tags": VersionTag.objects.filter(model_version__registered_model=model).count(),
    }


NOTHING = {"versions": 0, "artifacts": 0, "metrics": 0, "params": 0, "tags": 0}
