"""The unmodified mlflow client (pinned in pyproject's dev extra) against a live Attest."""

import pytest
from django.test import Client

from governance import access
from governance.models import AuditEvent, PersonalToken, TransitionRequest
from governance.services import decision_record, model_risk_class_set
from registry.models import Artifact, ModelVersion, RegisteredModel, Stage
from tests.factories import make_model, make_version
from tests.mlflow_api.conftest import log_and_register

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException, RestException  # noqa: E402

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # stages are deprecated in MLflow
]


def error_code(exc) -> str:
    return getattr(exc.value, "error_code", "")


def test_log_model_registers_a_governed_version(mlflow_as, scientist, sk_model):
    mlflow_as(scientist)
    run, info = log_and_register(sk_model[0], params={"C": 1.0, "penalty": "l2"})
    version = ModelVersion.objects.get(registered_model__name="fraud-detector")
    assert version.version == 1
    assert version.run_id == run.info.run_id
    assert version.source.startswith("models:/m-")
    assert version.framework == "sklearn"
    assert {p.key: p.value for p in version.params.all()} == {"C": "1.0", "penalty": "l2"}
    assert {m.name: m.value for m in version.metrics.all()} == {"auc": 0.91}
    artifacts = {a.path: a for a in Artifact.objects.filter(model_version=version)}
    assert {"MLmodel", "model.skops", "requirements.txt"} <= set(artifacts)
    assert all(len(a.sha256) == 64 and a.size > 0 for a in artifacts.values())
    # Through the same service as the form: one version.create event, with the token named.
    event = AuditEvent.objects.get(action="version.create", model_version_id=version.pk)
    assert event.source == "api"
    assert "pipeline" in event.context["api_token"]
    assert "attest_" not in str(event.context)  # never the token itself
    # The version shows in the UI like any other.
    page = Client()
    page.force_login(scientist)
    response = page.get(version.get_absolute_url())
    assert response.status_code == 200
    assert b"model.skops" in response.content


def test_log_model_exactly_as_the_issue_writes_it(mlflow_as, scientist, sk_model):
    """No pip_requirements: the client infers them (in a subprocess) and uploads them."""
    mlflow_as(scientist)
    log_and_register(sk_model[0], infer_requirements=True)
    version = ModelVersion.objects.get(registered_model__name="fraud-detector")
    requirements = Artifact.objects.get(model_version=version, path="requirements.txt")
    from django.core.files.storage import default_storage

    with default_storage.open(requirements.storage_name, "rb") as handle:
        text = handle.read().decode()
    assert "scikit-learn" in text and "mlflow" in text


def test_load_model_by_alias_and_number(mlflow_as, scientist, sk_model):
    client = mlflow_as(scientist)
    model, x = sk_model
    log_and_register(model)
    log_and_register(model)
    client.set_registered_model_alias("fraud-detector", "candidate", "1")
    assert client.get_model_version_by_alias("fraud-detector", "candidate").version == "1"
    by_alias = mlflow.pyfunc.load_model("models:/fraud-detector@candidate")
    assert list(by_alias.predict(x)) == list(model.predict(x))
    by_number = mlflow.pyfunc.load_model("models:/fraud-detector/2")
    assert list(by_number.predict(x)) == list(model.predict(x))
    # Each file fetched is an audited download.
    assert AuditEvent.objects.filter(action="artifact.download").count() >= 4


def test_register_model_from_run_uri(mlflow_as, scientist, sk_model):
    mlflow_as(scientist)
    run, _ = log_and_register(sk_model[0])
    result = mlflow.register_model(f"runs:/{run.info.run_id}/model", "fraud-detector")
    assert result.version == "2"
    version = ModelVersion.objects.get(registered_model__name="fraud-detector", version=2)
    assert version.run_id == run.info.run_id
    assert version.artifacts.filter(path="MLmodel").exists()


def test_registry_calls(mlflow_as, scientist, team):
    client = mlflow_as(scientist)
    created = client.create_registered_model("churn", tags={"owner": "dana"}, description="d1")
    assert created.name == "churn"
    model = RegisteredModel.objects.get(name="churn")
    assert model.team == team
    with pytest.raises(RestException) as exc:
        client.create_registered_model("churn")
    assert error_code(exc) == "RESOURCE_ALREADY_EXISTS"
    got = client.get_registered_model("churn")
    assert got.description == "d1" and got.tags == {"owner": "dana"}
    client.update_registered_model("churn", description="d2")
    client.set_registered_model_tag("churn", "tier", "gold")
    client.delete_registered_model_tag("churn", "owner")
    assert client.get_registered_model("churn").tags == {"tier": "gold"}

    make_version(scientist, model)
    make_version(scientist, model)
    mv = client.get_model_version("churn", "2")
    assert mv.current_stage == "None" and mv.run_id == "run-1"
    client.update_model_version("churn", "2", description="better")
    client.set_model_version_tag("churn", "2", "validated", "yes")
    assert client.get_model_version("churn", "2").tags == {"validated": "yes"}
    client.delete_model_version_tag("churn", "2", "validated")
    assert client.get_model_version("churn", "2").description == "better"
    assert client.get_model_version_download_uri("churn", "2").startswith("mlflow-artifacts:/")
    latest = client.get_latest_versions("churn")
    assert [v.version for v in latest] == ["2"]

    client.set_registered_model_alias("churn", "candidate", "1")
    assert client.get_model_version_by_alias("churn", "candidate").version == "1"
    assert client.get_registered_model("churn").aliases == {"candidate": "1"}
    client.delete_registered_model_alias("churn", "candidate")
    with pytest.raises(RestException) as exc:
        client.get_model_version_by_alias("churn", "candidate")
    assert error_code(exc) == "RESOURCE_DOES_NOT_EXIST"

    client.rename_registered_model("churn", "churn-v2")
    assert [m.name for m in client.search_registered_models("name LIKE 'churn%'")] == ["churn-v2"]
    client.delete_model_version("churn-v2", "1")
    assert [v.version for v in client.search_model_versions("name='churn-v2'")] == ["2"]
    events = AuditEvent.objects.filter(action="version.delete")
    assert events.count() == 1 and events.get().before["version"] == 1
    client.delete_registered_model("churn-v2")
    assert not RegisteredModel.objects.filter(name="churn-v2").exists()
    with pytest.raises(RestException) as exc:
        client.get_registered_model("churn-v2")
    assert error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    # The audit trail keeps the deleted model's history.
    assert AuditEvent.objects.filter(action="model.delete", before__name="churn-v2").exists()


def test_basic_auth_with_username_and_token(mlflow_as, scientist, model):
    client = mlflow_as(scientist, basic=True)
    assert client.get_registered_model("fraud-detector").name == "fraud-detector"


def test_search_filters_order_and_pages(mlflow_as, scientist, team):
    client = mlflow_as(scientist)
    for name in ("alpha", "Alpine", "beta"):
        m = make_model(scientist, name=name, team=team)
        make_version(scientist, m, lineage={"run_id": f"run-{name}", "source": f"s3://b/{name}"})
    client.set_registered_model_tag("beta", "tier", "gold")
    names = lambda models: [m.name for m in models]  # noqa: E731
    assert names(client.search_registered_models("name LIKE 'al%'")) == ["alpha"]
    assert names(client.search_registered_models("name ILIKE 'al%'")) == ["Alpine", "alpha"]
    assert names(client.search_registered_models("name != 'beta'")) == ["Alpine", "alpha"]
    assert names(client.search_registered_models("tags.`tier` = 'gold'")) == ["beta"]
    assert names(client.search_registered_models(order_by=["name DESC"])) == [
        "beta",
        "alpha",
        "Alpine",
    ]
    first = client.search_registered_models(max_results=2, order_by=["name ASC"])
    assert names(first) == ["Alpine", "alpha"] and first.token
    second = client.search_registered_models(
        max_results=2, order_by=["name ASC"], page_token=first.token
    )
    assert names(second) == ["beta"] and not second.token
    versions = client.search_model_versions("name IN ('alpha', 'beta') AND run_id = 'run-beta'")
    assert [(v.name, v.version) for v in versions] == [("beta", "1")]
    versions = client.search_model_versions("source_path LIKE 's3://b/al%'")
    assert sorted(v.name for v in versions) == ["alpha"]
    assert len(client.search_model_versions("version_number = 1")) == 3
    with pytest.raises(MlflowException) as exc:
        client.search_registered_models("name = 'a' OR name = 'b'")
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exc:
        client.search_registered_models(max_results=5000)
    assert error_code(exc) == "INVALID_PARAMETER_VALUE"


def test_out_of_scope_models_are_not_found(mlflow_as, other_scientist, model):
    client = mlflow_as(other_scientist)
    with pytest.raises(RestException) as exc:
        client.get_registered_model("fraud-detector")
    assert error_code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_registered_models() == []


def test_auditor_reads_but_every_write_is_refused(mlflow_as, auditor, model, version):
    access.grant(model, "view", user=auditor)
    # Auditors are only issued read-only tokens (governance.services.tokens.token_create); give this
    # one a read-write scope behind the service's back (a token from before the rule, or
    # edited in the database): the API still refuses every write.
    client = mlflow_as(auditor, PersonalToken.Scope.READ)
    PersonalToken.objects.filter(user=auditor).update(scope=PersonalToken.Scope.WRITE)
    assert client.get_model_version("fraud-detector", "1").version == "1"
    before = AuditEvent.objects.count()
    writes = [
        lambda: client.create_registered_model("nope"),
        lambda: client.update_registered_model("fraud-detector", description="x"),
        lambda: client.set_registered_model_tag("fraud-detector", "k", "v"),
        lambda: client.set_model_version_tag("fraud-detector", "1", "k", "v"),
        lambda: client.set_registered_model_alias("fraud-detector", "candidate", "1"),
        lambda: client.delete_model_version("fraud-detector", "1"),
        lambda: client.delete_registered_model("fraud-detector"),
    ]
    for write in writes:
        with pytest.raises(RestException) as exc:
            write()
        assert error_code(exc) == "PERMISSION_DENIED"
    assert AuditEvent.objects.count() == before


def test_read_only_token_cannot_write(mlflow_as, scientist, model):
    client = mlflow_as(scientist, scope="read")
    assert client.get_registered_model("fraud-detector").name == "fraud-detector"
    with pytest.raises(RestException) as exc:
        client.set_registered_model_tag("fraud-detector", "k", "v")
    assert error_code(exc) == "PERMISSION_DENIED"


def test_transition_stage_needs_an_approved_request(mlflow_as, scientist, approver, model, version):
    access.grant(model, "approve", user=approver)
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="r"
    )
    client = mlflow_as(scientist)
    with pytest.raises(RestException) as exc:
        client.transition_model_version_stage("fraud-detector", "1", "Production")
    assert error_code(exc) == "PERMISSION_DENIED"
    transition = TransitionRequest.objects.get(model_version=version)
    assert f"#{transition.pk}" in str(exc.value)
    assert f"/requests/{transition.pk}/" in str(exc.value)
    # Asking again names the same pending request, and opens no second one.
    with pytest.raises(RestException) as exc:
        client.transition_model_version_stage("fraud-detector", "1", "Production")
    assert f"#{transition.pk}" in str(exc.value)
    assert TransitionRequest.objects.count() == 1
    version.refresh_from_db()
    assert version.stage == Stage.NONE
    decision_record(actor=approver, request=transition, outcome="approve", reason="ok")
    moved = client.transition_model_version_stage("fraud-detector", "1", "Production")
    assert moved.current_stage == "Production"
    # Ever in Production: deletes are refused.
    with pytest.raises(RestException) as exc:
        client.delete_model_version("fraud-detector", "1")
    assert error_code(exc) == "PERMISSION_DENIED"
    with pytest.raises(RestException) as exc:
        client.delete_registered_model("fraud-detector")
    assert error_code(exc) == "PERMISSION_DENIED"


def test_protected_alias_needs_a_production_approval(
    mlflow_as, scientist, approver, model, version
):
    from governance.models import ProtectedAlias

    ProtectedAlias.objects.get_or_create(name="champion")
    access.grant(model, "approve", user=approver)
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="r"
    )
    client = mlflow_as(scientist)
    with pytest.raises(RestException) as exc:
        client.set_registered_model_alias("fraud-detector", "champion", "1")
    assert error_code(exc) == "PERMISSION_DENIED"
    transition = TransitionRequest.objects.get(model_version=version, target_stage="Production")
    assert f"#{transition.pk}" in str(exc.value) and "http" in str(exc.value)
    assert not model.aliases.exists()
    decision_record(actor=approver, request=transition, outcome="approve", reason="ok")
    # Now in Production; moving the protected alias still needs approve permission.
    approver_client = mlflow_as(approver)
    approver_client.set_registered_model_alias("fraud-detector", "champion", "1")
    assert model.aliases.get().alias == "champion"


def test_bad_credentials_are_unauthenticated(live_server):
    import requests

    url = f"{live_server.url}/api/2.0/mlflow/registered-models/search"
    assert requests.get(url, timeout=10).status_code == 401
    response = requests.get(url, headers={"Authorization": "Bearer attest_x_y"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
