"""Issue 13: downloading a flagged artifact (confirmed and audited, by the UI and refused by
the MLflow API), the MLflow upload route, and rows an older scanner left behind.
"""

import gzip
import io
import pickle
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.models import AuditEvent
from governance.services import transition_request_open
from registry.models import ModelVersion
from tests.conftest import client_for
from tests.registry.scanning.helpers import (
    MLMODEL,
    OS_SYSTEM,
    classify,
    console_push_pickle,
    statuses,
    upload,
    zip_bytes,
)

pytestmark = pytest.mark.usefixtures("artifact_root", "upload_tmp", "scans_in_process")


# --- Downloading a flagged artifact -------------------------------------------------------


@pytest.fixture
def flagged(client, model, django_capture_on_commit_callbacks):
    version = upload(client, model, {"evil.pkl": OS_SYSTEM}, django_capture_on_commit_callbacks)
    artifact = version.artifacts.get()
    assert artifact.scan_status == "flagged"
    return artifact


def download_url(artifact):
    version = artifact.model_version
    return reverse(
        "registry:artifact-download",
        args=[version.registered_model.name, version.version, artifact.pk],
    )


def test_a_flagged_download_asks_for_confirmation_first(client, flagged, audit_count):
    before = audit_count()
    page = client.get(download_url(flagged))
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "<code>os.system</code>" in page.content.decode()
    assert 'name="confirm"' in page.content.decode()

    unticked = client.post(download_url(flagged), {})
    assert unticked.status_code == 400
    assert "Tick the box" in unticked.content.decode()
    assert audit_count() == before

    ticked = client.post(download_url(flagged), {"confirm": "yes"})
    assert ticked.status_code == 200
    assert b"".join(ticked.streaming_content) == OS_SYSTEM
    assert audit_count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "artifact.download_flagged"
    assert event.after["scan_status"] == "flagged"
    assert event.after["scan_findings"][0]["name"] == "system"


def test_a_clean_download_needs_no_confirmation(client, model, django_capture_on_commit_callbacks):
    version = upload(
        client, model, {"m.pkl": pickle.dumps({"a": 1})}, django_capture_on_commit_callbacks
    )
    artifact = version.artifacts.get()
    response = client.get(download_url(artifact))
    assert response.status_code == 200
    assert AuditEvent.objects.latest("id").action == "artifact.download"


def test_out_of_scope_users_still_get_404_for_a_flagged_artifact(other_scientist, flagged):
    other = client_for(other_scientist)
    assert other.get(download_url(flagged)).status_code == 404
    assert other.post(download_url(flagged), {"confirm": "yes"}).status_code == 404


def test_the_mlflow_api_refuses_a_flagged_artifact(client, scientist, flagged, audit_count):
    from governance.services.tokens import token_create

    raw = token_create(actor=scientist, name="t", scope="write")[1]
    before = audit_count()
    path = f"/api/2.0/mlflow-artifacts/artifacts/versions/{flagged.model_version_id}/evil.pkl"
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403
    body = response.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert "flagged by the pickle scan" in body["message"]
    assert audit_count() == before


# --- The MLflow route: artifact proxy, then model-versions/create -------------------------


def test_the_mlflow_route_flags_the_red_team_files(
    client, scientist, model, django_capture_on_commit_callbacks
):
    """What `mlflow.sklearn.log_model` + `register_model` do: PUT the files through the
    artifact proxy under a run, then create the version from runs:/<id>/model."""
    from governance.services.tokens import token_create

    raw = token_create(actor=scientist, name="t", scope="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    run = client.post(
        "/api/2.0/mlflow/runs/create",
        {"experiment_id": "0"},
        content_type="application/json",
        **auth,
    ).json()["run"]["info"]["run_id"]
    files = {
        "MLmodel": MLMODEL,
        "model.weights": OS_SYSTEM,
        "extra/model.pkl": console_push_pickle(),
        "extra/model.pkl.gz": gzip.compress(OS_SYSTEM),
        "conda.yaml": b"name: env\ndependencies: [python=3.11]\n",
    }
    for path, content in files.items():
        response = client.put(
            f"/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/model/{path}",
            content,
            content_type="application/octet-stream",
            **auth,
        )
        assert response.status_code == 200, response.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/2.0/mlflow/model-versions/create",
            {"name": model.name, "source": f"runs:/{run}/model", "run_id": run},
            content_type="application/json",
            **auth,
        )
    assert response.status_code == 200, response.content
    version = ModelVersion.objects.get(registered_model=model)
    assert statuses(version) == {
        "MLmodel": "not_applicable",
        "conda.yaml": "not_applicable",
        "model.weights": "flagged",
        "extra/model.pkl": "flagged",
        "extra/model.pkl.gz": "flagged",
    }
    classify(model)
    with pytest.raises(ValidationError, match="Artifacts scanned clean"):
        transition_request_open(
            actor=scientist, version=version, target_stage="Staging", justification="ship it"
        )


# --- Rows an older scanner left behind ----------------------------------------------------


def test_rescan_artifacts_re_reads_every_file_and_is_audited(
    client, model, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    version = upload(
        client,
        model,
        {"model.weights": OS_SYSTEM, "model.pkl": console_push_pickle(), "a.json": b"{}"},
        django_capture_on_commit_callbacks,
    )
    # What the old scanner recorded for the red team's files.
    version.artifacts.filter(path="model.weights").update(
        scan_status="not_applicable", scan_findings=[]
    )
    version.artifacts.filter(path="model.pkl").update(
        scan_status="clean",
        scan_findings=[{"module": "code", "name": "InteractiveConsole.push", "safety": "x"}],
    )
    last = AuditEvent.objects.latest("id").pk

    with django_capture_on_commit_callbacks(execute=True):
        call_command("rescan_artifacts", "--model", model.name, stdout=io.StringIO())

    assert statuses(version) == {
        "model.weights": "flagged",
        "model.pkl": "flagged",
        "a.json": "not_applicable",
    }
    actions = list(
        AuditEvent.objects.filter(pk__gt=last)
        .order_by("id")
        .values_list("action", "actor_username")
    )
    assert actions == [
        ("version.rescan", "cli:rescan_artifacts"),
        ("artifact.scan", "system:scanner"),
        ("artifact.scan", "system:scanner"),
    ]


def test_a_long_harmless_prefix_does_not_hide_the_import_from_the_upload_check(
    client, model, django_capture_on_commit_callbacks
):
    """The upload looks at the first 64 KiB only: opcodes that run on past them, or a bytes
    value longer than them, still mark the file for the full scan."""
    padded = b"N0" * 50_000 + OS_SYSTEM
    big_bytes = b"\x80\x04B" + (100_000).to_bytes(4, "little") + bytes(100_000) + b"0" + OS_SYSTEM
    version = upload(
        client,
        model,
        {"weights.dat1": padded, "weights.dat2": big_bytes},
        django_capture_on_commit_callbacks,
    )
    assert statuses(version) == {"weights.dat1": "flagged", "weights.dat2": "flagged"}


def test_a_text_file_that_ends_as_a_zip_is_scanned(
    client, model, django_capture_on_commit_callbacks
):
    """zipfile finds an archive by its end record: text first, a hostile zip after."""
    polyglot = b"# Model notes\n" * 10_000 + zip_bytes(
        {"archive/data.pkl": b"\x80\x02" + OS_SYSTEM}
    )
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    version = upload(client, model, {"NOTES.md": polyglot}, django_capture_on_commit_callbacks)
    assert statuses(version) == {"NOTES.md": "flagged"}
