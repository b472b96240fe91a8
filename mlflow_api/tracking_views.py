"""The subset of MLflow tracking that `mlflow.<flavor>.log_model` and `register_model` use:
experiments, runs, metrics, logged models, the artifact proxy and server-info.

Every read starts from `restrict()` (access.OwnedQuerySet for the tracking record): what
the user may not see answers RESOURCE_DOES_NOT_EXIST; the services answer
PERMISSION_DENIED to a write on what they may see but did not create."""

import posixpath

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from governance import access
from mlflow_api import filters, specs, wire
from mlflow_api.auth import api_view
from mlflow_api.errors import ApiError, invalid, not_found
from mlflow_api.responses import json_response
from registry import uploads
from registry.models import Artifact, Experiment, LoggedModel, ModelVersion, Run, StagedArtifact
from registry.models.tracking import DEFAULT_EXPERIMENT_ID
from registry.services.artifacts import artifact_download_record
from registry.services.tracking import (
    default_experiment,
    experiment_create,
    logged_model_create,
    logged_model_update,
    run_create,
    run_log,
    run_outputs_add,
    run_reference,
    run_update,
    staged_artifact_store,
)


def ok(payload=None) -> HttpResponse:
    return json_response(payload or {})


def _experiment(user, experiment_id) -> Experiment:
    """An experiment the user may see (the Default one is everyone's; until the first
    write into it creates its row, an unsaved stand-in)."""
    try:
        pk = int(experiment_id) if str(experiment_id) != "" else DEFAULT_EXPERIMENT_ID
    except (TypeError, ValueError) as exc:
        raise invalid(f"Invalid experiment ID '{experiment_id}'.") from exc
    exp = Experiment.objects.filter(pk=pk).restrict(user).first()
    if exp is None and pk == DEFAULT_EXPERIMENT_ID:
        exp = default_experiment()  # not written yet: the stand-in
    if exp is None:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    return exp


def _run(user, params) -> Run:
    run_id = params.get("run_id") or params.get("run_uuid")
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    run = Run.objects.filter(run_id=run_id).restrict(user).select_related("user").first()
    if run is None:
        raise not_found(f"Run with id={run_id} not found")
    return run


def _logged_model(user, model_id) -> LoggedModel:
    lm = (
        LoggedModel.objects.filter(model_id=model_id)
        .restrict(user)
        .select_related("source_run")
        .first()
    )
    if lm is None:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    return lm


def _tags(items) -> dict:
    return {t["key"]: str(t.get("value", "")) for t in items or [] if t.get("key")}


# --- Experiments -------------------------------------------------------------------------


@api_view("GET", spec=specs.GetExperiment)
def experiment_get(request, params):
    exp = _experiment(request.user, params.get("experiment_id"))
    return ok({"experiment": wire.experiment(exp)})


@api_view("GET", spec=specs.GetExperimentByName)
def experiment_get_by_name(request, params):
    name = params.get("experiment_name") or ""
    exp = Experiment.objects.filter(name=name).restrict(request.user).first()
    if exp is None and name == "Default":
        exp = default_experiment()  # not written yet: the stand-in
    if exp is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return ok({"experiment": wire.experiment(exp)})


@api_view("POST", spec=specs.CreateExperiment)
def experiment_create_view(request, params):
    exp = experiment_create(
        actor=request.user, name=params.required("name"), tags=_tags(params.get("tags"))
    )
    return ok({"experiment_id": str(exp.pk)})


@api_view(
    "GET", "POST", spec=specs.SearchExperiments, write=False
)  # a search: POST carries the query
def experiment_search(request, params):
    """MLflow's order (creation_time DESC, experiment_id ASC), view_type, filter and pages."""
    limit = filters.max_results(params.get("max_results"), default=1000, cap=1000)
    start = filters.page_offset(params.get("page_token"))
    order = filters.order_by(
        params.getlist("order_by"), filters.EXPERIMENT_ORDER, ["-creation_time", "pk"]
    )
    view = params.get("view_type") or "ACTIVE_ONLY"
    stages = {"ACTIVE_ONLY": ["active"], "DELETED_ONLY": ["deleted"]}.get(view)
    text = params.get("filter") or ""
    qs = Experiment.objects.restrict(request.user).filter(filters.experiment_filter_q(text))
    if stages:
        qs = qs.filter(lifecycle_stage__in=stages)
    default = default_experiment()
    if default._state.adding and view != "DELETED_ONLY" and not text:
        # Not written yet: listed as MLflow always lists it, with creation_time 0, so it
        # sorts as its row would (order keys in Python over the small unpaged set).
        exps = [*qs, default]
        for field in reversed(order):
            name = field.lstrip("-")
            exps.sort(
                key=lambda e, n=name: getattr(e, n) or 0 if n != "name" else e.name,
                reverse=field.startswith("-"),
            )
    else:
        exps = list(qs.order_by(*order)[start : start + limit + 1])
        start = 0
    page = exps[start : start + limit + 1]
    payload = {"experiments": [wire.experiment(e) for e in page[:limit]]}
    if len(page) > limit:
        payload["next_page_token"] = filters.page_token(
            filters.page_offset(params.get("page_token")) + limit
        )
    return ok(payload)


# --- Runs --------------------------------------------------------------------------------


@api_view("POST", spec=specs.CreateRun)
def run_create_view(request, params):
    exp = _experiment(request.user, params.get("experiment_id") or "0")
    run = run_create(
        actor=request.user,
        experiment=exp,
        name=params.get("run_name") or "",
        start_time=params.get("start_time"),
        tags=_tags(params.get("tags")),
    )
    return ok({"run": wire.run(run)})


@api_view("GET", spec=specs.GetRun)
def run_get(request, params):
    return ok({"run": wire.run(_run(request.user, params))})


@api_view("POST", spec=specs.UpdateRun)
def run_update_view(request, params):
    run = run_update(
        actor=request.user,
        run=_run(request.user, params),
        status=params.get("status"),
        end_time=params.get("end_time"),
        name=params.get("run_name"),
    )
    return ok({"run_info": wire.run_info(run)})


def _metric(item) -> dict:
    try:
        value = float(item["value"]) if item.get("value") is not None else None
    except (TypeError, ValueError) as exc:
        raise invalid(f"Metric {item.get('key')!r} needs a number.") from exc
    return {
        "key": item["key"],
        "value": value,
        "timestamp": int(item.get("timestamp") or 0),
        "step": int(item.get("step") or 0),
        "model_id": item.get("model_id") or "",
    }


@api_view("POST", spec=specs.LogParam)
def run_log_parameter(request, params):
    run_log(
        actor=request.user,
        run=_run(request.user, params),
        params={params.required("key"): str(params.get("value", ""))},
    )
    return ok()


@api_view("POST", spec=specs.LogMetric)
def run_log_metric(request, params):
    item = {k: params.get(k) for k in ("key", "value", "timestamp", "step", "model_id")}
    if not item["key"]:
        raise invalid("Missing value for required parameter 'key'.")
    run_log(actor=request.user, run=_run(request.user, params), metrics=[_metric(item)])
    return ok()


@api_view("POST", spec=specs.SetTag)
def run_set_tag(request, params):
    run_log(
        actor=request.user,
        run=_run(request.user, params),
        tags={params.required("key"): str(params.get("value", ""))},
    )
    return ok()


@api_view("POST", spec=specs.LogBatch)
def run_log_batch(request, params):
    run_log(
        actor=request.user,
        run=_run(request.user, params),
        params={p["key"]: str(p.get("value", "")) for p in params.getlist("params") if p},
        metrics=[_metric(m) for m in params.getlist("metrics") if m],
        tags=_tags(params.getlist("tags")),
    )
    return ok()


@api_view("POST", spec=specs.LogOutputs)
def run_outputs(request, params):
    run_outputs_add(
        actor=request.user, run=_run(request.user, params), models=params.getlist("models")
    )
    return ok()


@api_view("POST", spec=specs.LogInputs)
def run_log_inputs(request, params):
    # Datasets are not recorded; the call must not fail for the run's creator.
    access.require(request.user, _run(request.user, params), "change")
    return ok()


@api_view("GET", spec=specs.GetMetricHistory)
def metric_history(request, params):
    run = _run(request.user, params)
    key = params.required("metric_key")
    rows = run.metrics.filter(key=key).order_by("step", "timestamp", "pk")[:25000]
    return ok({"metrics": [wire.metric(m) for m in rows]})


# --- Logged models -------------------------------------------------------------------------


@api_view("POST", spec=specs.CreateLoggedModel)
def logged_model_create_view(request, params):
    exp = _experiment(request.user, params.get("experiment_id") or "0")
    run, external_run_id = None, ""
    if params.get("source_run_id"):  # a run Attest does not hold: another tracking server's
        run, external_run_id = run_reference(request.user, params.get("source_run_id"))
    lm = logged_model_create(
        actor=request.user,
        experiment=exp,
        name=params.get("name") or "model",
        source_run=run,
        params=_tags(params.get("params")),
        tags=_tags(params.get("tags")),
        model_type=params.get("model_type") or "",
        external_source_run_id=external_run_id,
    )
    return ok({"model": wire.logged_model(lm)})


@api_view("GET", "PATCH", "DELETE", spec=specs.LOGGED_MODEL)
def logged_model_detail(request, params, model_id):
    lm = _logged_model(request.user, model_id)
    if request.method == "PATCH":
        lm = logged_model_update(actor=request.user, logged_model=lm, status=params.get("status"))
    elif request.method == "DELETE":
        raise ApiError("PERMISSION_DENIED", "Logged models are kept for lineage.")
    return ok({"model": wire.logged_model(lm)})


@api_view("PATCH", spec=specs.SetLoggedModelTags)
def logged_model_tags(request, params, model_id):
    lm = _logged_model(request.user, model_id)
    logged_model_update(actor=request.user, logged_model=lm, tags=_tags(params.get("tags")))
    return ok()


@api_view("POST", spec=specs.SearchLoggedModels, write=False)  # a search
def logged_model_search(request, params):
    qs = LoggedModel.objects.restrict(request.user).select_related("source_run")
    ids = [e for e in params.getlist("experiment_ids") if str(e).isdigit()]
    if ids:
        qs = qs.filter(experiment_id__in=ids)
    text = params.get("filter") or ""
    if text:
        filters.check_text("filter", text)
        text = text.strip()
    if text:
        # The client's register_model only filters by name: name = '<name>'.
        key, _, value = text.partition("=")
        if key.strip() != "name" or value.strip()[:1] not in ("'", '"'):
            raise invalid(f"Unsupported logged model filter '{text}'.")
        qs = qs.filter(name=value.strip()[1:-1])
    limit = filters.max_results(params.get("max_results"), default=100, cap=1000)
    models = list(qs.order_by("-creation_time")[:limit])
    return ok({"models": [wire.logged_model(m) for m in models]})


# --- server-info -----------------------------------------------------------------------------


@api_view("GET", spec=specs.NoInput)
def server_info(request, params):
    return ok(
        {
            "store_type": "Attest",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {},
        }
    )


# --- The artifact proxy ------------------------------------------------------------------------


def _version_for_path(user, path: str):
    """(version, path inside it) for versions/<pk>/..., 404 unless the user may view it."""
    parts = path.split("/", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise not_found(f"No artifact at {path}.")
    version = (
        ModelVersion.objects.restrict(user, few_rows=True)
        .select_related("registered_model")
        .filter(pk=int(parts[1]))
        .first()
    )
    if version is None:
        raise not_found(f"No artifact at {path}.")
    return version, (parts[2] if len(parts) > 2 else "")


def _clean(path: str) -> str:
    path = (path or "").strip("/")
    if any(p in ("..", ".") for p in path.split("/")):
        raise invalid(f"Invalid path {path!r}.")
    return path


def _listing(entries, base: str) -> list[dict]:
    """Direct children of `base` among (path, size) pairs, as MLflow's FileInfo list."""
    files, dirs = {}, set()
    prefix = base + "/" if base else ""
    for path, size in entries:
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        head, sep, _tail = rest.partition("/")
        if sep:
            dirs.add(head)
        else:
            files[head] = size
    listed = [{"path": d, "is_dir": True} for d in sorted(dirs)]
    listed += [{"path": f, "is_dir": False, "file_size": s} for f, s in sorted(files.items())]
    return listed


@api_view("GET", spec=specs.ListArtifacts)
def artifact_list(request, params):
    path = _clean(params.get("path") or "")
    if path.startswith("versions/") or path == "versions":
        version, inner = _version_for_path(request.user, path)
        entries = version.artifacts.values_list("path", "size")
        listed = _listing(entries, inner)
    else:
        staged = StagedArtifact.objects.restrict(request.user).filter(path__startswith=path + "/")
        listed = [
            {"path": e["path"], **{k: v for k, v in e.items() if k != "path"}}
            for e in _listing(staged.values_list("path", "size"), path)
        ]
    return ok({"files": listed} if listed else {})


def _file_response(storage_name: str, filename: str):
    if hasattr(default_storage, "bucket"):
        return HttpResponseRedirect(default_storage.url(storage_name))
    response = FileResponse(
        default_storage.open(storage_name, "rb"),
        content_type="application/octet-stream",
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@api_view("GET", "PUT", raw_body=True, spec=specs.NoInput)
def artifact_file(request, params, path):
    path = _clean(path)
    if request.method == "PUT":
        staged_artifact_store(
            actor=request.user,
            path=path,
            stream=uploads.WholeBody(request),  # a body cut short is refused, not kept
            content_type=request.content_type or "",
        )
        return ok()
    if path.startswith("versions/"):
        version, inner = _version_for_path(request.user, path)
        artifact = Artifact.objects.filter(model_version=version, path=inner).first()
        if artifact is None:
            raise not_found(f"No artifact at {path}.")
        artifact.model_version = version
        # A flagged artifact is refused (PERMISSION_DENIED, saying why): the MLflow client
        # has no way to confirm; the web UI's confirmation page is the way to it.
        artifact_download_record(actor=request.user, artifact=artifact)
        return _file_response(artifact.storage_name, posixpath.basename(inner))
    staged = StagedArtifact.objects.filter(path=path).restrict(request.user).first()
    if staged is None:
        raise not_found(f"No artifact at {path}.")
    return _file_response(staged.storage_name, posixpath.basename(path))
