"""MLflow Model Registry endpoints (/api/2.0/mlflow/registered-models/..., model-versions/...).

Thin: each handler reads its parameters, calls the registry and governance selectors and
services as the UI does, and writes MLflow's JSON. Governance is not bypassed: stage
changes and protected aliases go through transition requests and approvals."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponse

from governance import access, rules
from governance.services import alias_delete, alias_set
from governance.services.transitions import ApprovalRequired, version_stage_set
from mlflow_api import filters, specs, wire
from mlflow_api.auth import api_view
from mlflow_api.errors import invalid, not_found
from mlflow_api.responses import json_response
from registry import selectors
from registry.models import (
    LoggedModel,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    VersionTag,
)
from registry.services import model_create
from registry.services.mlflow_support import (
    model_delete,
    model_description_set,
    model_rename,
    model_tag_delete,
    model_tag_set,
    version_delete,
    version_description_set,
    version_tag_delete,
    version_tag_set,
)
from registry.services.models import can_register_models, teams_for
from registry.services.tracking import run_reference, version_register
from registry.sources import run_id_of

SEARCH_MODELS_DEFAULT = 100
SEARCH_MODELS_CAP = 1000
SEARCH_VERSIONS_DEFAULT = 10_000
SEARCH_VERSIONS_CAP = 200_000
TEAM_TAG = "attest.team"


def ok(payload=None) -> HttpResponse:
    return json_response(payload or {})


def _model(user, name, action="view") -> RegisteredModel:
    if not name:
        raise invalid("Missing value for required parameter 'name'.")
    model = (
        selectors.models_visible(user, few_rows=True)
        .select_related("created_by", "team")
        .filter(name=name)
        .first()
    )
    if model is None:
        raise not_found(f"Registered Model with name={name} not found")
    if action != "view":
        access.require(user, model, action)
    return model


def _version(user, name, number, action="view") -> ModelVersion:
    model = _model(user, name)
    try:
        number = int(number)
    except (TypeError, ValueError) as exc:
        raise invalid(f"Invalid model version number '{number}'.") from exc
    version = (
        ModelVersion.objects.filter(registered_model=model, version=number)
        .select_related("created_by")
        .first()
    )
    if version is None:
        raise not_found(f"Model Version (name={name}, version={number}) not found")
    version.registered_model = model
    if action != "view":
        access.require(user, model, action)
    return version


def _version_json(version, *, tags=None, aliases=None) -> dict:
    if tags is None:
        tags = list(version.tags.all())
    if aliases is None:
        aliases = list(version.aliases.values_list("alias", flat=True).order_by("alias"))
    return wire.model_version(version, tags=tags, aliases=aliases)


# --- Registered models ---------------------------------------------------------------


@api_view("POST", spec=specs.CreateRegisteredModel)
def registered_model_create(request, params):
    name = params.required("name")
    tags = {t["key"]: t.get("value", "") for t in params.getlist("tags") or []}
    team_name = tags.pop(TEAM_TAG, "")
    if not can_register_models(request.user):
        raise PermissionDenied("You may not register models.")  # before naming any team
    teams = teams_for(request.user)
    team = teams.filter(name=team_name).first() if team_name else teams.first()
    if team is None:
        raise invalid(
            f"Team {team_name!r} is not one of yours."
            if team_name
            else "You belong to no team that could own the model; ask a registry admin."
        )
    model = model_create(
        actor=request.user,
        name=name,
        team=team,
        description=params.get("description") or "",
        tags=tags,
    )
    return ok({"registered_model": wire.registered_model(model, latest=[], aliases=[])})


@api_view("GET", spec=specs.GetRegisteredModel)
def registered_model_get(request, params):
    model = _model(request.user, params.get("name"))
    return ok({"registered_model": wire.registered_model(model)})


@api_view("POST", spec=specs.RenameRegisteredModel)
def registered_model_rename(request, params):
    model = _model(request.user, params.get("name"))
    new_name = params.required("new_name")
    model = model_rename(actor=request.user, registered_model=model, new_name=new_name)
    return ok({"registered_model": wire.registered_model(model)})


@api_view("PATCH", spec=specs.UpdateRegisteredModel)
def registered_model_update(request, params):
    model = _model(request.user, params.get("name"))
    if params.get("description") is not None:
        model = model_description_set(
            actor=request.user, registered_model=model, description=params.get("description")
        )
    return ok({"registered_model": wire.registered_model(model)})


@api_view("DELETE", spec=specs.DeleteRegisteredModel)
def registered_model_delete(request, params):
    model = _model(request.user, params.get("name"))
    model_delete(actor=request.user, registered_model=model)
    return ok()


@api_view(
    "GET", "POST", spec=specs.SearchRegisteredModels, write=False
)  # a search: POST carries the query
def registered_model_search(request, params):
    limit = filters.max_results(
        params.get("max_results"), default=SEARCH_MODELS_DEFAULT, cap=SEARCH_MODELS_CAP
    )
    offset = filters.page_offset(params.get("page_token"))
    order = filters.order_by(params.getlist("order_by"), filters.MODEL_ORDER, ["name", "pk"])
    qs = (
        selectors.models_visible(request.user)
        .filter(filters.model_filter_q(params.get("filter") or ""))
        .select_related("created_by")
        .defer("search_text")
        .prefetch_related("tags")
        .order_by(*order)
    )
    page = list(qs[offset : offset + limit + 1])
    payload = {"registered_models": wire.registered_models(page[:limit])}
    if len(page) > limit:
        payload["next_page_token"] = filters.page_token(offset + limit)
    return ok(payload)


@api_view(
    "GET", "POST", spec=specs.GetLatestVersions, write=False
)  # a search: POST carries the query
def registered_model_latest_versions(request, params):
    model = _model(request.user, params.get("name"))
    stages = []
    for text in params.getlist("stages"):
        stage = wire.stage_name(text)
        if stage is None:
            raise invalid(f"Invalid Model Version stage: {text}.")
        stages.append(stage)
    latest = wire.latest_versions_by_model([model.pk], stages or None).get(model.pk, [])
    return ok({"model_versions": [wire.latest_version(v, name=model.name) for v in latest]})


@api_view("POST", spec=specs.SetRegisteredModelTag)
def registered_model_set_tag(request, params):
    model = _model(request.user, params.get("name"))
    model_tag_set(
        actor=request.user,
        registered_model=model,
        key=params.required("key"),
        value=str(params.get("value") or ""),
    )
    return ok()


@api_view("DELETE", spec=specs.DeleteRegisteredModelTag)
def registered_model_delete_tag(request, params):
    model = _model(request.user, params.get("name"))
    model_tag_delete(actor=request.user, registered_model=model, key=params.required("key"))
    return ok()


# --- Aliases ---------------------------------------------------------------------------


VIA = "the MLflow API"


def _refusal(http_request, exc: ApprovalRequired) -> PermissionDenied:
    """ApprovalRequired on the wire: PERMISSION_DENIED with the request's address."""
    url = http_request.build_absolute_uri(exc.request.get_absolute_url())
    return PermissionDenied(f"{exc}: {url}")


@api_view("POST", "DELETE", "GET", spec=specs.ALIAS)
def registered_model_alias(request, params):
    if request.method == "GET":
        return _alias_get(request, params)
    model = _model(request.user, params.get("name"))
    alias = params.required("alias")
    if request.method == "DELETE":
        alias_delete(actor=request.user, registered_model=model, alias=alias)
        return ok()
    version = _version(request.user, model.name, params.required("version"))
    try:
        alias_set(
            actor=request.user,
            registered_model=model,
            alias=alias,
            version=version,
            request_production=f"Requested through {VIA}: set protected alias @{alias} on "
            f"v{version.version}.",
        )
    except ApprovalRequired as exc:
        raise _refusal(request, exc) from exc
    return ok()


def _alias_get(request, params):
    model = _model(request.user, params.get("name"))
    alias = params.required("alias")
    row = (
        ModelAlias.objects.filter(registered_model=model, alias=alias)
        .select_related("model_version__created_by")
        .first()
    )
    if row is None:
        raise not_found(f"Registered model alias {alias} not found.")
    version = row.model_version
    if rules.alias_target_refusal(alias, version):
        # Defence in depth: the lifecycle moves or removes a protected alias whenever its
        # version leaves Production; a row that says otherwise is never served.
        raise not_found(
            f"Registered model alias {alias} not found: it is protected and "
            f"v{version.version} is not in Production."
        )
    version.registered_model = model
    return ok({"model_version": _version_json(version)})


# --- Model versions --------------------------------------------------------------------


@api_view("POST", spec=specs.CreateModelVersion)
def model_version_create(request, params):
    model = _model(request.user, params.get("name"))  # version_create checks change
    source = params.get("source") or ""
    run_id = params.get("run_id") or run_id_of(source)
    model_id = params.get("model_id") or ""
    if not model_id and source.startswith("models:/m-"):
        model_id = source[len("models:/") :].split("/", 1)[0]
    logged = None
    if model_id:
        logged = (
            LoggedModel.objects.filter(model_id=model_id)
            .restrict(request.user)
            .select_related("source_run")
            .first()
        )
        if logged is None:
            raise not_found(f"Logged model with ID '{model_id}' not found.")
    # version_register refuses a run or logged model the user did not create; a run Attest
    # does not hold is another tracking server's, kept as the version's external run.
    run, external_run_id = run_reference(request.user, run_id) if run_id else (None, "")
    tags = {t["key"]: t.get("value", "") for t in params.getlist("tags") or []}
    version = version_register(
        actor=request.user,
        registered_model=model,
        source=source,
        run=run,
        logged_model=logged,
        run_link=params.get("run_link") or "",
        tags=tags,
        description=params.get("description") or "",
        external_run_id=external_run_id,
    )
    # The row just written, as written (its creator is the caller): no need to read it back.
    version.registered_model = model
    return ok({"model_version": _version_json(version, tags=tags, aliases=[])})


@api_view("GET", spec=specs.GetModelVersion)
def model_version_get(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    return ok({"model_version": _version_json(version)})


@api_view("PATCH", spec=specs.UpdateModelVersion)
def model_version_update(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    if params.get("description") is not None:
        version = version_description_set(
            actor=request.user, version=version, description=params.get("description")
        )
    return ok({"model_version": _version_json(version)})


@api_view("DELETE", spec=specs.DeleteModelVersion)
def model_version_delete(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    version_delete(actor=request.user, version=version)
    return ok()


@api_view("GET", spec=specs.GetModelVersionDownloadUri)
def model_version_download_uri(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    return ok({"artifact_uri": wire.download_uri(version)})


@api_view("POST", spec=specs.SetModelVersionTag)
def model_version_set_tag(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    version_tag_set(
        actor=request.user,
        version=version,
        key=params.required("key"),
        value=str(params.get("value") or ""),
    )
    return ok()


@api_view("DELETE", spec=specs.DeleteModelVersionTag)
def model_version_delete_tag(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    version_tag_delete(actor=request.user, version=version, key=params.required("key"))
    return ok()


@api_view("POST", spec=specs.TransitionModelVersionStage)
def model_version_transition(request, params):
    version = _version(request.user, params.get("name"), params.get("version"))
    stage = wire.stage_name(params.required("stage"))
    if stage is None:
        raise invalid(f"Invalid Model Version stage: {params.get('stage')}.")
    archive = str(params.get("archive_existing_versions")).lower() == "true"
    try:
        version = version_stage_set(
            actor=request.user, version=version, stage=stage, archive_existing=archive, via=VIA
        )
    except ApprovalRequired as exc:
        raise _refusal(request, exc) from exc
    return ok({"model_version": _version_json(version)})


@api_view(
    "GET", "POST", spec=specs.SearchModelVersions, write=False
)  # a search: POST carries the query
def model_version_search(request, params):
    limit = filters.max_results(
        params.get("max_results"), default=SEARCH_VERSIONS_DEFAULT, cap=SEARCH_VERSIONS_CAP
    )
    offset = filters.page_offset(params.get("page_token"))
    # MLflow's server: last_updated_timestamp DESC when no order is given; name ASC and
    # version DESC break ties either way.
    clauses = params.getlist("order_by")
    order = filters.order_by(
        clauses,
        filters.VERSION_ORDER,
        ["registered_model__name", "-version"]
        if clauses
        else ["-updated_at", "registered_model__name", "-version"],
    )
    visible = selectors.models_visible(request.user).values("pk")
    qs = (
        ModelVersion.objects.filter(registered_model__in=visible)
        .filter(filters.version_filter_q(params.get("filter") or ""))
        .select_related("registered_model", "created_by")
        .prefetch_related(
            Prefetch("tags", queryset=VersionTag.objects.order_by("key")),
            Prefetch("aliases", queryset=ModelAlias.objects.order_by("alias")),
        )
        .order_by(*order)
    )
    page = list(qs[offset : offset + limit + 1])
    payload = {
        "model_versions": [
            _version_json(v, tags=list(v.tags.all()), aliases=[a.alias for a in v.aliases.all()])
            for v in page[:limit]
        ]
    }
    if len(page) > limit:
        payload["next_page_token"] = filters.page_token(offset + limit)
    return ok(payload)
