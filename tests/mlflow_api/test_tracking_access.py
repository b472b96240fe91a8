"""Issue 13: the MLflow tracking record (experiments, runs, logged models, uploaded files) is
behind the same permission filter as everything else. Attacks first: a user with no
grants, an auditor without a grant, a viewer writing; then what must keep working."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from governance import access
from governance.models import AuditEvent
from governance.services.tokens import token_create
from registry.models import Experiment, LoggedModel, ModelVersion, Run, StagedArtifact
from registry.services.tracking import run_log
from tests.conftest import download_status
from tests.factories import make_model, make_user, make_version

pytestmark = pytest.mark.django_db

P = "/api/2.0/mlflow/"
A = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def api(client):
    def call(user, method, path, data=None):
        # Auditors are only ever issued read-only tokens (governance.services.tokens.token_create).
        scope = "read" if access.is_auditor(user) else "write"
        raw = token_create(actor=user, name="t", scope=scope)[1]
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if method == "get":
            return client.get(path, data or {}, **kwargs)
        if isinstance(data, bytes):
            return getattr(client, method)(path, data, content_type="text/plain", **kwargs)
        return getattr(client, method)(path, data or {}, content_type="application/json", **kwargs)

    return call


def changes() -> int:
    """Audit events other than the tokens each call above creates."""
    return AuditEvent.objects.exclude(action__startswith="token.").count()


def ok(response):
    assert response.status_code == 200, response.content
    return response.json()


def tracked(api, user, experiment_name="secret-exp"):
    """A training run as the mlflow client records it: an experiment with tags, a run with
    a param, a metric and a tag, a logged model of the run, and a file uploaded under each."""
    exp_id = ok(
        api(
            user,
            "post",
            P + "experiments/create",
            {"name": experiment_name, "tags": [{"key": "project", "value": "card-fraud"}]},
        )
    )["experiment_id"]
    run = ok(api(user, "post", P + "runs/create", {"experiment_id": exp_id}))["run"]["info"]
    run_id = run["run_id"]
    ok(
        api(
            user,
            "post",
            P + "runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": "C", "value": "1.0"}],
                "metrics": [{"key": "auc", "value": 0.91, "timestamp": 1, "step": 0}],
                "tags": [{"key": "owner-note", "value": "private"}],
            },
        )
    )
    lm = ok(
        api(
            user,
            "post",
            P + "logged-models",
            {"experiment_id": exp_id, "name": "model", "source_run_id": run_id},
        )
    )["model"]["info"]
    run_file = f"{exp_id}/{run_id}/artifacts/notes.txt"
    model_file = f"{exp_id}/models/{lm['model_id']}/artifacts/MLmodel"
    ok(api(user, "put", f"{A}/{run_file}", b"private notes"))
    ok(api(user, "put", f"{A}/{model_file}", b"flavors: {}"))
    return {
        "experiment_id": exp_id,
        "run_id": run_id,
        "model_id": lm["model_id"],
        "run_file": run_file,
        "model_file": model_file,
    }


def register(api, user, model_name, record):
    """model-versions/create from the run and logged model, as register_model does."""
    return api(
        user,
        "post",
        P + "model-versions/create",
        {
            "name": model_name,
            "source": f"models:/{record['model_id']}",
            "run_id": record["run_id"],
            "model_id": record["model_id"],
        },
    )


def reads(api, user, record):
    """Every tracking read of `record`, as (name, response)."""
    run, model = {"run_id": record["run_id"]}, record["model_id"]
    calls = [
        ("experiment", P + "experiments/get", {"experiment_id": record["experiment_id"]}),
        ("by name", P + "experiments/get-by-name", {"experiment_name": "secret-exp"}),
        ("run", P + "runs/get", run),
        ("metric history", P + "metrics/get-history", run | {"metric_key": "auc"}),
        ("logged model", f"{P}logged-models/{model}", {}),
        ("run file", f"{A}/{record['run_file']}", {}),
        ("model file", f"{A}/{record['model_file']}", {}),
    ]
    return [(what, api(user, "get", path, data)) for what, path, data in calls]


def granted(what: str) -> int:
    """What a permitted read answers: files are the bytes, or a presigned redirect on S3."""
    return download_status() if what.endswith(" file") else 200


def listings(api, user, record):
    """What the user's lists show of `record`: experiment names, logged model ids, files."""
    names = set()
    for method in ("get", "post"):
        found = ok(api(user, method, P + "experiments/search", {"max_results": 100}))
        names |= {e["name"] for e in found["experiments"]}
    models = ok(api(user, "post", P + "logged-models/search", {}))["models"]
    run_dir = record["run_file"].rsplit("/", 1)[0]
    model_dir = record["model_file"].rsplit("/", 1)[0]
    files = ok(api(user, "get", A, {"path": run_dir})).get("files", [])
    files += ok(api(user, "get", A, {"path": model_dir})).get("files", [])
    return names, {m["info"]["model_id"] for m in models}, files


def writes(api, user, record):
    """Every tracking write on `record`, as (name, response)."""
    run, exp = {"run_id": record["run_id"]}, {"experiment_id": record["experiment_id"]}
    model = f"{P}logged-models/{record['model_id']}"
    tag = [{"key": "k", "value": "v"}]
    calls = [
        ("update", "post", P + "runs/update", run | {"status": "FAILED"}),
        ("metric", "post", P + "runs/log-metric", run | {"key": "auc", "value": 0.1}),
        ("param", "post", P + "runs/log-parameter", run | {"key": "D", "value": "x"}),
        ("tag", "post", P + "runs/set-tag", run | {"key": "k", "value": "v"}),
        ("batch", "post", P + "runs/log-batch", run | {"tags": tag}),
        ("outputs", "post", P + "runs/outputs", run | {"models": [{"model_id": "m-x"}]}),
        ("inputs", "post", P + "runs/log-inputs", run),
        ("run in experiment", "post", P + "runs/create", exp),
        ("model in experiment", "post", P + "logged-models", exp | {"name": "x"}),
        ("logged model tags", "patch", f"{model}/tags", {"tags": tag}),
        ("upload to run", "put", f"{A}/{record['run_file']}", b"overwritten"),
        ("upload to model", "put", f"{A}/{record['model_file']}", b"overwritten"),
        ("finalize", "patch", model, {"status": "LOGGED_MODEL_READY"}),  # last: freezes files
    ]
    return [(what, api(user, method, path, data)) for what, method, path, data in calls]


# --- Attacks: a user with no grants, an auditor without a grant ---------------------------


def test_no_grant_lists_and_reads_nothing_of_others(api, scientist, other_scientist):
    record = tracked(api, scientist)
    names, models, files = listings(api, other_scientist, record)
    assert names == {"Default"}  # not "secret-exp", nor its tags
    assert models == set() and files == []
    for what, response in reads(api, other_scientist, record):
        assert response.status_code == 404, what
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", what


def test_writes_on_records_out_of_sight_are_not_found(api, scientist, other_scientist):
    record = tracked(api, scientist)
    before = changes()
    for what, response in writes(api, other_scientist, record):
        assert response.status_code == 404, what
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", what
    assert changes() == before
    run = Run.objects.get(run_id=record["run_id"])
    assert run.status == "RUNNING" and "k" not in run.tags and run.metrics.count() == 1
    assert Run.objects.count() == 1 and LoggedModel.objects.count() == 1


def test_auditor_without_a_grant_cannot_read_a_run_not_linked_to_a_model(api, scientist, auditor):
    """The Auditors group holds registry-wide view of models: that shows them what is linked
    to a model, never someone's unregistered runs."""
    assert auditor.has_perm("registry.view_registeredmodel")
    record = tracked(api, scientist)
    for what, response in reads(api, auditor, record):
        assert response.status_code == 404, what
    names, models, files = listings(api, auditor, record)
    assert names == {"Default"} and models == set() and files == []


def test_registry_admin_does_not_see_unregistered_runs_of_others(api, scientist, registry_admin):
    record = tracked(api, scientist)
    for what, response in reads(api, registry_admin, record):
        assert response.status_code == 404, what
    for what, response in writes(api, registry_admin, record):
        assert response.status_code == 404, what


def test_a_run_id_typed_into_a_version_links_nothing(api, scientist, other_scientist):
    """A governed user who learnt a run id cannot make the run theirs to read by naming it
    as lineage of a version of their own model (form, API or service)."""
    record = tracked(api, scientist)
    own = make_model(other_scientist, name="mine")
    make_version(other_scientist, own, lineage={"run_id": record["run_id"]})
    response = register(api, other_scientist, "mine", record)
    assert response.status_code == 404  # the run and logged model are out of sight
    for what, response in reads(api, other_scientist, record):
        assert response.status_code == 404, what


def test_services_check_access_whoever_calls_them(api, scientist, other_scientist, viewer, model):
    """The shell and commands call the services directly: the same answers."""
    record = tracked(api, scientist)
    run = Run.objects.get(run_id=record["run_id"])
    with pytest.raises(ObjectDoesNotExist):
        run_log(actor=other_scientist, run=run, tags={"k": "v"})
    ok(register(api, scientist, model.name, record))
    with pytest.raises(PermissionDenied):
        run_log(actor=viewer, run=run, tags={"k": "v"})
    assert "k" not in Run.objects.get(pk=run.pk).tags


# --- Linked through a registered model --------------------------------------------------


def test_a_viewer_of_the_model_sees_the_run_it_was_registered_from(
    api, scientist, viewer, other_scientist, model
):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    for what, response in reads(api, viewer, record):
        assert response.status_code == granted(what), what
    run = ok(api(viewer, "get", P + "runs/get", {"run_id": record["run_id"]}))["run"]
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"C": "1.0"}
    names, models, files = listings(api, viewer, record)
    assert "secret-exp" in names and models == {record["model_id"]}
    assert {f["path"] for f in files} == {"notes.txt", "MLmodel"}
    # ... and still nothing for someone without a grant on the model.
    for what, response in reads(api, other_scientist, record):
        assert response.status_code == 404, what


def test_a_viewer_may_only_read_every_write_is_refused(api, scientist, viewer, model):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    access.grant(model, "change", user=viewer)  # even with change on the model
    before = changes()
    for what, response in writes(api, viewer, record):
        assert response.status_code == 403, what
        assert response.json()["error_code"] == "PERMISSION_DENIED", what
    # Registering someone else's run into a model one may change would link it there.
    response = register(api, viewer, model.name, record)
    assert response.status_code == 403 and response.json()["error_code"] == "PERMISSION_DENIED"
    assert changes() == before
    assert ModelVersion.objects.filter(registered_model=model).count() == 1
    run = Run.objects.get(run_id=record["run_id"])
    assert run.status == "RUNNING" and "k" not in run.tags and run.metrics.count() == 1
    assert StagedArtifact.objects.get(path=record["run_file"]).size == len(b"private notes")


def test_auditor_reads_runs_of_models_they_may_view_and_writes_nothing(
    api, scientist, auditor, model
):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    for what, response in reads(api, auditor, record):  # registry-wide view of models
        assert response.status_code == granted(what), what
    before = changes()
    for what, response in writes(api, auditor, record):
        assert response.status_code == 403, what
    assert changes() == before


def test_auditor_without_model_wide_view_needs_a_grant_on_the_model(api, scientist, auditor, model):
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.remove(
        Permission.objects.get(codename="view_registeredmodel")
    )
    auditor = type(auditor).objects.get(pk=auditor.pk)  # drop cached permissions
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    for what, response in reads(api, auditor, record):
        assert response.status_code == 404, what
    access.grant(model, "view", user=auditor)
    for what, response in reads(api, auditor, record):
        assert response.status_code == granted(what), what


def test_registry_admin_sees_runs_linked_to_models_but_cannot_write_them(
    api, scientist, registry_admin, model
):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    for what, response in reads(api, registry_admin, record):
        assert response.status_code == granted(what), what
    for what, response in writes(api, registry_admin, record):
        assert response.status_code == 403, what


def test_losing_the_grant_loses_the_run(api, scientist, viewer, model):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    assert api(viewer, "get", P + "runs/get", {"run_id": record["run_id"]}).status_code == 200
    access.revoke(model, "view", user=viewer)
    assert api(viewer, "get", P + "runs/get", {"run_id": record["run_id"]}).status_code == 404


# --- The creator; the Default experiment -------------------------------------------------


def test_the_creator_reads_and_writes_their_own(api, scientist):
    record = tracked(api, scientist)
    for what, response in reads(api, scientist, record):
        assert response.status_code == granted(what), what
    names, models, files = listings(api, scientist, record)
    assert names == {"Default", "secret-exp"} and models == {record["model_id"]}
    assert len(files) == 2
    for bad, status in (("x", 400), (-5, 400)):  # bad input is a 400, never a 5xx
        response = api(scientist, "post", P + "logged-models/search", {"max_results": bad})
        assert response.status_code == status
    for what, response in writes(api, scientist, record):
        assert response.status_code == granted(what), what


def test_reads_never_write_and_the_first_run_creates_the_default_experiment(
    api, scientist, other_scientist
):
    before = changes()
    exp = ok(api(scientist, "get", P + "experiments/get", {"experiment_id": "0"}))["experiment"]
    assert exp["name"] == "Default" and exp["experiment_id"] == "0"
    by_name = api(scientist, "get", P + "experiments/get-by-name", {"experiment_name": "Default"})
    assert ok(by_name)["experiment"]["experiment_id"] == "0"
    found = ok(api(scientist, "post", P + "experiments/search", {}))["experiments"]
    assert [e["name"] for e in found] == ["Default"]
    assert not Experiment.objects.exists() and changes() == before
    # The first write into it creates it, audited.
    mine = ok(api(scientist, "post", P + "runs/create", {"experiment_id": "0"}))["run"]["info"]
    created = AuditEvent.objects.filter(action="experiment.create")
    assert created.count() == 1 and created.get().actor_username == scientist.username
    assert Experiment.objects.get(pk=0).name == "Default"
    # Shared: others add their runs to it, and see it, but not each other's runs.
    theirs = ok(api(other_scientist, "post", P + "runs/create", {"experiment_id": "0"}))
    assert created.count() == 1
    theirs = theirs["run"]["info"]
    for user, run in ((other_scientist, mine), (scientist, theirs)):
        response = api(user, "get", P + "runs/get", {"run_id": run["run_id"]})
        assert response.status_code == 404
    found = ok(api(other_scientist, "get", P + "experiments/search"))["experiments"]
    assert [e["name"] for e in found] == ["Default"]
    # "Default" stays the Default experiment's name.
    response = api(other_scientist, "post", P + "experiments/create", {"name": "Default"})
    assert response.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"


# --- The filter itself -------------------------------------------------------------------


def test_restrict_is_one_query_without_duplicate_rows(
    api, scientist, viewer, model, django_assert_num_queries
):
    record = tracked(api, scientist)
    ok(register(api, scientist, model.name, record))
    ok(register(api, scientist, model.name, record))  # two versions from the same run
    second = make_model(scientist, name="fraud-2")
    access.grant(second, "view", user=viewer)
    ok(register(api, scientist, second.name, record))
    tracked(api, scientist, "other-exp")  # not registered: not the viewer's
    outsider = make_user("out")
    for user, expected in ((viewer, 1), (scientist, 2), (outsider, 0)):
        list(Run.objects.restrict(user))  # the user's groups and permissions, read once
        with django_assert_num_queries(1):
            assert len(list(Run.objects.restrict(user))) == expected
        with django_assert_num_queries(1):
            assert len(list(LoggedModel.objects.restrict(user))) == expected
        with django_assert_num_queries(1):
            assert len(list(StagedArtifact.objects.restrict(user))) == 2 * expected
        with django_assert_num_queries(1):
            names = [e.name for e in Experiment.objects.restrict(user)]
        assert len(names) == len(set(names)) == expected
    # Writes: only the creator; nobody for an anonymous or inactive user.
    assert Run.objects.restrict(viewer, "change").count() == 0
    assert Run.objects.restrict(scientist, "change").count() == 2
    scientist.is_active = False
    assert Run.objects.restrict(scientist).count() == 0


def test_staged_files_uploaded_before_the_migration_are_linked_from_their_paths(api, scientist):
    from importlib import import_module

    from django.apps import apps

    record = tracked(api, scientist)
    StagedArtifact.objects.update(run=None, logged_model=None)
    import_module("registry.migrations.0011_tracking_access").link_staged_artifacts(apps, None)
    run_file = StagedArtifact.objects.get(path=record["run_file"])
    model_file = StagedArtifact.objects.get(path=record["model_file"])
    assert run_file.run.run_id == record["run_id"] and run_file.logged_model is None
    assert model_file.logged_model.model_id == record["model_id"] and model_file.run is None


# --- The real mlflow client ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_mlflow_client_sees_only_what_restrict_allows(
    mlflow_as, scientist, other_scientist, viewer, model, sk_model
):
    mlflow = pytest.importorskip("mlflow")
    from mlflow.exceptions import RestException

    from tests.mlflow_api.conftest import log_and_register

    mlflow_as(scientist)
    mlflow.set_experiment("fraud-training")
    registered, _info = log_and_register(sk_model[0], name=model.name)
    with mlflow.start_run() as scratch:
        mlflow.log_metric("auc", 0.5)

    client = mlflow_as(other_scientist)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    for run in (registered, scratch):
        with pytest.raises(RestException) as exc:
            client.get_run(run.info.run_id)
        assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client = mlflow_as(viewer)
    assert {e.name for e in client.search_experiments()} == {"Default", "fraud-training"}
    seen = client.get_run(registered.info.run_id)
    assert seen.data.params == {"C": "1.0"}
    history = client.get_metric_history(registered.info.run_id, "auc")
    assert history and {m.value for m in history} == {0.91}
    with pytest.raises(RestException) as exc:
        client.get_run(scratch.info.run_id)
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(RestException) as exc:
        client.set_tag(registered.info.run_id, "k", "v")
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert "k" not in Run.objects.get(run_id=registered.info.run_id).tags
