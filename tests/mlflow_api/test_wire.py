"""The wire rules without a live server: errors, auth, the artifact proxy's scope, audit."""

import pytest

from governance.models import AuditEvent
from governance.services.tokens import token_create
from registry.models import Run
from tests.conftest import download_status, downloaded_bytes

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"


@pytest.fixture
def api(client):
    def call(user, method, path, data=None, **extra):
        raw = token_create(actor=user, name="t", scope="write")[1]
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {raw}", **extra}
        if method == "get":
            return client.get(path, data or {}, **kwargs)
        if isinstance(data, bytes | str):
            return getattr(client, method)(path, data, content_type="text/plain", **kwargs)
        return getattr(client, method)(path, data or {}, content_type="application/json", **kwargs)

    return call


def test_errors_are_mlflow_shaped_and_never_5xx(api, scientist, model):
    response = api(scientist, "post", P + "registered-models/create", "{not json")
    assert response.status_code == 400 and response.json()["error_code"] == "MALFORMED_REQUEST"
    response = api(scientist, "get", P + "registered-models/get", {"name": "missing"})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Registered Model with name=missing not found",
    }
    response = api(scientist, "get", P + "model-versions/get", {"name": model.name, "version": "x"})
    assert response.status_code == 400
    response = api(scientist, "delete", P + "registered-models/get", {"name": model.name})
    assert response.status_code == 404 and response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = api(scientist, "post", P + "registered-models/create", {})
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_every_api_write_is_audited_with_the_token(api, scientist, model):
    response = api(
        scientist,
        "post",
        P + "registered-models/set-tag",
        {"name": model.name, "key": "k", "value": "v"},
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="model.tag_set")
    assert event.source == "api" and event.context["api_token"].startswith("t (")


def test_artifact_proxy_is_scoped_to_the_uploader(api, scientist, other_scientist):
    response = api(scientist, "post", P + "runs/create", {"experiment_id": "0"})
    run_id = response.json()["run"]["info"]["run_id"]
    path = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model/MLmodel"
    assert api(scientist, "put", path, b"flavors: {}").status_code == 200
    # Someone who cannot see the run: not found, as any out-of-scope object (issue 13);
    # someone who may only see it gets 403 (tests/mlflow_api/test_tracking_access.py).
    assert api(other_scientist, "put", path, b"x").status_code == 404
    assert api(other_scientist, "get", path).status_code == 404
    own = api(scientist, "get", path)
    assert own.status_code == download_status()  # bytes, or a presigned redirect on S3
    assert downloaded_bytes(own) == b"flavors: {}"
    listing = api(
        scientist, "get", "/api/2.0/mlflow-artifacts/artifacts", {"path": f"0/{run_id}/artifacts"}
    )
    assert listing.json() == {"files": [{"path": "model", "is_dir": True}]}
    assert (
        api(scientist, "put", "/api/2.0/mlflow-artifacts/artifacts/versions/1/x", b"x").status_code
        == 403
    )
    assert (
        api(
            scientist, "put", "/api/2.0/mlflow-artifacts/artifacts/0/nope/artifacts/x", b"x"
        ).status_code
        == 404
    )
    assert Run.objects.get(run_id=run_id).user == scientist


def test_version_artifacts_out_of_scope_are_not_found(api, other_scientist, version):
    path = f"/api/2.0/mlflow-artifacts/artifacts/versions/{version.pk}/model.json"
    assert api(other_scientist, "get", path).status_code == 404
    listing = api(
        other_scientist,
        "get",
        "/api/2.0/mlflow-artifacts/artifacts",
        {"path": f"versions/{version.pk}"},
    )
    assert listing.status_code == 404


def test_server_info(api, scientist):
    response = api(scientist, "get", "/api/3.0/mlflow/server-info")
    assert response.status_code == 200 and response.json()["store_type"] == "Attest"
