"""The artifact proxy's PUT streams the body into storage, hashing as it goes, read through
gunicorn's own body classes and core/wsgi_input.py as in production. A body that ends
before its Content-Length (the client went away) is refused and nothing of it is kept."""

import hashlib
import os

import pytest

from core.wsgi_input import SocketBody
from governance.models import AuditEvent
from governance.services.tokens import token_create
from registry.models import StagedArtifact
from tests.gunicorn_body import gunicorn_body

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


@pytest.fixture
def storage_root(settings, tmp_path):
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
def put(client, scientist):
    raw = token_create(actor=scientist, name="t", scope="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    run_id = client.post(
        "/api/2.0/mlflow/runs/create", {"experiment_id": "0"}, "application/json", **auth
    ).json()["run"]["info"]["run_id"]
    client.raise_request_exception = False

    def call(data: bytes, *, send=None):
        path = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model/weights.bin"
        return client.generic(
            "PUT",
            path,
            CONTENT_TYPE="application/octet-stream",
            CONTENT_LENGTH=str(len(data)),
            **{"wsgi.input": SocketBody.wrap(gunicorn_body(data, send=send)), **auth},
        )

    return call


def _files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_whole_body_is_stored_with_its_hash(put, storage_root):
    data = os.urandom(3 * MIB + 11)
    response = put(data)

    assert response.status_code == 200, response.content
    staged = StagedArtifact.objects.get()
    assert (staged.size, staged.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (storage_root / staged.storage_name).read_bytes() == data
    assert AuditEvent.objects.get(action="artifact.upload").after["sha256"] == staged.sha256


@pytest.mark.parametrize("fraction", [0.0, 0.4, 0.99])
def test_a_body_cut_short_is_refused_and_nothing_kept(put, storage_root, fraction):
    data = os.urandom(3 * MIB)
    response = put(data, send=int(len(data) * fraction))

    assert response.status_code == 400
    assert "interrupted" in response.json()["message"]
    assert StagedArtifact.objects.count() == 0
    assert _files(storage_root) == []
    assert not AuditEvent.objects.filter(action="artifact.upload").exists()
