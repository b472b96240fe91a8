"""Issue 22, point 1: a model version's source is lineage, never a path into this server.

The attacker is a data scientist with a write token on one model (the demo's ordinary
account). They register a version whose source names a file on the server (`/etc/passwd`,
`file:///etc/passwd`) or climbs out of an artifact root (`../`, in any encoding), hoping
that `get-download-uri` hands it to every pipeline that loads the version, or that a
later feature reads it. `mlflow server` refuses all of these with 400; so does Attest, in
the service every route (API, form, shell) goes through, and get-download-uri only ever
names the files Attest stored and hashed."""

import json

import pytest
from django.core.exceptions import ValidationError

from governance.services.tokens import token_create
from registry.models import ModelVersion
from registry.services.tracking import version_register
from registry.sources import validate_source
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
P = "/api/2.0/mlflow/"

HOSTILE_SOURCES = [
    "/etc",
    "/etc/passwd",
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file:/etc/passwd",
    "./models/model.pkl",
    "models/../../../etc",
    "~/secrets",
    "C:\\Windows\\system32",
    "mlflow-artifacts://host:9000/models/../../../",
    "mlflow-artifacts:/models/../../../etc/passwd",
    "mlflow-artifacts://host:9000/models/..%2f..%2f..%2fetc",
    "mlflow-artifacts://host:9000/models/%252e%252e/%252e%252e/etc",
    "mlflow-artifacts://host:9000/models/artifacts%00",
    "http://host:5000/api/2.0/mlflow-artifacts/artifacts/../../../../",
    "https://host:5000/api/2.0/mlflow-artifacts/artifacts/../../../../",
    "ftp://host/models/../../etc",
    "s3a://bucket/models/../../other",
    "s3://bucket/models/path/../../other/path",
    "s3://bucket/models\\..\\..\\other",
    "gopher://host/x",
    "javascript:alert(1)",
    "runs://host/abc/model",
    "models://host/m-1",
]

LINEAGE_SOURCES = [
    "s3://bucket/models/fraud/7",
    "gs://bucket/models/fraud",
    "https://example.com/models/fraud.tar.gz",
    "runs:/0123456789abcdef/model",
    "models:/m-0123456789abcdef",
    "mlflow-artifacts:/0/abc/artifacts/model",
    "dbfs:/databricks/mlflow/model",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_validate_source_refuses_local_paths_and_traversal(source):
    with pytest.raises(ValidationError):
        validate_source(source)


@pytest.mark.parametrize("source", LINEAGE_SOURCES)
def test_validate_source_keeps_external_lineage(source):
    assert validate_source(source) == source


def _post(client, token, path, body):
    return client.post(
        P + path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_api_refuses_hostile_source_and_writes_nothing(client, scientist, model, source):
    token = token_create(actor=scientist, name="w", scope="write")[1]
    before = ModelVersion.objects.count()
    response = _post(client, token, "model-versions/create", {"name": model.name, "source": source})
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert ModelVersion.objects.count() == before


def test_service_refuses_hostile_source_from_the_shell(scientist, model):
    """The shell or any future route calls the same service: it refuses too."""
    with pytest.raises(ValidationError):
        version_register(actor=scientist, registered_model=model, source="file:///etc/passwd")
    assert not ModelVersion.objects.filter(registered_model=model).exists()


def test_download_uri_never_hands_out_an_external_source(client, scientist, model):
    """A version registered from an external location has no files in Attest: the client
    is pointed at Attest's own (empty) artifact proxy, not at the location, which is only
    recorded as lineage."""
    token = token_create(actor=scientist, name="w", scope="write")[1]
    created = _post(
        client,
        token,
        "model-versions/create",
        {"name": model.name, "source": "https://example.com/models/fraud.tar.gz"},
    )
    assert created.status_code == 200, created.content
    number = created.json()["model_version"]["version"]
    assert created.json()["model_version"]["source"] == "https://example.com/models/fraud.tar.gz"
    response = client.get(
        P + "model-versions/get-download-uri",
        {"name": model.name, "version": number},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    uri = response.json()["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/versions/")
    assert "example.com" not in uri


def test_download_uri_ignores_a_bad_source_already_in_the_database(client, scientist, model):
    """A row written before validation existed (or straight into the database) still
    never reaches a client as a download location."""
    version = ModelVersion.objects.create(
        registered_model=model, version=99, created_by=scientist, source="file:///etc/passwd"
    )
    token = token_create(actor=scientist, name="w", scope="write")[1]
    response = client.get(
        P + "model-versions/get-download-uri",
        {"name": model.name, "version": str(version.version)},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert response.json()["artifact_uri"] == f"mlflow-artifacts:/versions/{version.pk}"


# --- Issue 22, point 2: a run in another tracking server is lineage, not a refusal -------


def test_version_from_a_run_in_another_tracking_server_is_registered_as_external(
    client, scientist, model, audit_count
):
    token = token_create(actor=scientist, name="w", scope="write")[1]
    audit_count.reset()
    response = _post(
        client,
        token,
        "model-versions/create",
        {
            "name": model.name,
            "source": "s3://team-bucket/mlruns/1/abcdef0123/artifacts/model",
            "run_id": "abcdef0123",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()["model_version"]
    assert body["run_id"] == "abcdef0123"
    version = ModelVersion.objects.get(registered_model=model, version=int(body["version"]))
    assert version.run_external is True
    assert not version.artifacts.exists()
    assert audit_count() == 1  # the version.create event, which says the run is external
    page = client_for(scientist).get(version.get_absolute_url())
    assert b"external run" in page.content


def test_runs_uri_source_names_the_external_run(client, scientist, model):
    token = token_create(actor=scientist, name="w", scope="write")[1]
    response = _post(
        client,
        token,
        "model-versions/create",
        {"name": model.name, "source": "runs:/feedbeef42/model"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["model_version"]["run_id"] == "feedbeef42"
    assert ModelVersion.objects.get(registered_model=model, run_id="feedbeef42").run_external


def test_someone_elses_run_here_is_not_found_not_an_external_claim(
    client, scientist, other_scientist, model
):
    """A run Attest holds but this user cannot see is neither linked nor recorded as an
    "external" claim that would shadow it: it does not exist for them (404, as before)."""
    from registry.models import Experiment, Run

    private = Run.objects.create(
        run_id="0" * 32,
        experiment=Experiment.objects.create(name="private", created_by=other_scientist),
        user=other_scientist,
    )
    token = token_create(actor=scientist, name="w", scope="write")[1]
    for path, body in [
        ("model-versions/create", {"name": model.name, "run_id": private.run_id}),
        ("logged-models", {"experiment_id": "0", "name": "m", "source_run_id": private.run_id}),
    ]:
        response = _post(client, token, path, body)
        assert response.status_code == 404, response.content
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert not ModelVersion.objects.filter(run_id=private.run_id).exists()


@pytest.mark.parametrize("run_id", ["../../etc", "a b", "x" * 101, "-leading-dash", "é"])
def test_a_malformed_run_id_is_400_not_404(client, scientist, model, run_id):
    token = token_create(actor=scientist, name="w", scope="write")[1]
    response = _post(client, token, "model-versions/create", {"name": model.name, "run_id": run_id})
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_logged_model_from_an_external_run(client, scientist, model):
    token = token_create(actor=scientist, name="w", scope="write")[1]
    created = _post(
        client,
        token,
        "logged-models",
        {"experiment_id": "0", "name": "m", "source_run_id": "cafe0123"},
    )
    assert created.status_code == 200, created.content
    logged = created.json()["model"]["info"]
    assert logged["source_run_id"] == "cafe0123"
    version = _post(
        client,
        token,
        "model-versions/create",
        {"name": model.name, "source": f"models:/{logged['model_id']}"},
    )
    assert version.status_code == 200, version.content
    row = ModelVersion.objects.get(
        registered_model=model, version=int(version.json()["model_version"]["version"])
    )
    assert (row.run_id, row.run_external) == ("cafe0123", True)
