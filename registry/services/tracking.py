"""Writes for the minimal MLflow tracking record (experiments, runs, logged models, files
uploaded through the artifact proxy) and registering a version from them.

A version registered from a run or a logged model goes through version_create: its files
are streamed from the uploaded copies into the version's own storage prefix, hashed again
as they stream and scanned like any form upload. The uploaded copy stays with its run or
logged model (a client may register it again, or re-upload it while the model is pending),
so every version's bytes are its own and immutable; the cost is one copy per version. See
docs/api.md ("Where the bytes go")."""

import math
import posixpath
import time
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from governance import access, audit
from registry import safe_yaml, storage
from registry.models import (
    Experiment,
    LoggedModel,
    ModelVersion,
    RegisteredModel,
    Run,
    RunMetric,
    StagedArtifact,
)
from registry.models.tracking import DEFAULT_EXPERIMENT_ID
from registry.services.versions import UploadFile, VersionInput, version_create
from registry.sources import validate_run_id, validate_source

MAX_PARAM_VALUE = 6000


def now_ms() -> int:
    return int(time.time() * 1000)


def _require_writer(actor) -> None:
    if not getattr(actor, "is_authenticated", False) or access.is_auditor(actor):
        raise PermissionDenied("Auditors are read-only.")


def _for_write(actor, obj, not_found: str, denied: str):
    """`obj` read again and locked for a write by `actor`, through the same filter as every
    read (access.OwnedQuerySet): missing, or not visible to the actor, raises DoesNotExist
    (404, its existence is not leaked); visible but not theirs raises PermissionDenied."""
    _require_writer(actor)
    rows = type(obj).objects.filter(pk=obj.pk)
    locked = rows.restrict(actor, "change").select_for_update().first()
    if locked is None:
        if rows.restrict(actor, "view").exists():
            raise PermissionDenied(denied)
        raise type(obj).DoesNotExist(not_found)
    return locked


def default_experiment() -> Experiment:
    """MLflow's Default experiment for a read: the row, or an unsaved stand-in until the
    first write into it creates it (default_experiment_ensure), so reads never write."""
    exp = Experiment.objects.filter(pk=DEFAULT_EXPERIMENT_ID).first()
    return exp if exp is not None else _default_experiment_unsaved()


def _default_experiment_unsaved() -> Experiment:
    return Experiment(
        pk=DEFAULT_EXPERIMENT_ID,
        name="Default",
        artifact_location=f"mlflow-artifacts:/{DEFAULT_EXPERIMENT_ID}",
    )


def default_experiment_ensure(*, actor) -> Experiment:
    """The Default experiment's row, created (and audited) by the first write into it."""
    _require_writer(actor)
    exp = Experiment.objects.filter(pk=DEFAULT_EXPERIMENT_ID).first()
    if exp is not None:
        return exp
    exp = _default_experiment_unsaved()
    exp.creation_time = exp.last_update_time = now_ms()
    try:
        with transaction.atomic():
            exp.save(force_insert=True)
            audit.record(
                actor=actor, action="experiment.create", target=exp, after={"name": exp.name}
            )
    except IntegrityError:  # someone else's first write created it a moment ago
        return Experiment.objects.get(pk=DEFAULT_EXPERIMENT_ID)
    return exp


def _experiment_for_write(actor, experiment: Experiment) -> Experiment:
    if experiment.pk == DEFAULT_EXPERIMENT_ID:
        return default_experiment_ensure(actor=actor)
    return _for_write(
        actor,
        experiment,
        f"No Experiment with id={experiment.pk} exists",
        "Only the person who created an experiment can add runs and models to it.",
    )


def experiment_create(*, actor, name: str, tags: dict | None = None) -> Experiment:
    _require_writer(actor)
    name = (name or "").strip()
    if not name or len(name) > 500:
        raise ValidationError("An experiment needs a name of 1-500 characters.")
    with transaction.atomic():
        # "Default" is the Default experiment's, whether or not its row exists yet.
        if name == "Default" or Experiment.objects.filter(name=name).exists():
            raise FileExistsError(f"Experiment(name={name}) already exists.")
        exp = Experiment.objects.create(
            name=name,
            tags=tags or {},
            created_by=actor,
            creation_time=now_ms(),
            last_update_time=now_ms(),
        )
        exp.artifact_location = f"mlflow-artifacts:/{exp.pk}"
        exp.save(update_fields=["artifact_location"])
        audit.record(actor=actor, action="experiment.create", target=exp, after={"name": name})
    return exp


def run_create(
    *, actor, experiment: Experiment, name: str = "", start_time=None, tags: dict | None = None
) -> Run:
    _require_writer(actor)
    tags = dict(tags or {})
    run_id = uuid.uuid4().hex
    name = name or tags.get("mlflow.runName") or f"run-{run_id[:8]}"
    tags["mlflow.runName"] = name
    with transaction.atomic():
        experiment = _experiment_for_write(actor, experiment)
        run = Run.objects.create(
            run_id=run_id,
            experiment=experiment,
            user=actor,
            name=name[:250],
            start_time=start_time or now_ms(),
            tags=tags,
        )
        audit.record(
            actor=actor,
            action="run.create",
            target=run,
            after={"run_id": run_id, "experiment": experiment.pk, "name": run.name},
        )
    return run


def _locked_run(actor, run: Run) -> Run:
    return _for_write(
        actor,
        run,
        f"Run with id={run.run_id} not found",
        "Only the person who started a run can change it.",
    )


def run_update(*, actor, run: Run, status=None, end_time=None, name=None) -> Run:
    with transaction.atomic():
        run = _locked_run(actor, run)
        before = {"status": run.status, "name": run.name}
        if status:
            run.status = status
        if end_time:
            run.end_time = end_time
        if name:
            run.name = name[:250]
            run.tags = run.tags | {"mlflow.runName": run.name}
        run.save()
        audit.record(
            actor=actor,
            action="run.update",
            target=run,
            before=before,
            after={"status": run.status, "name": run.name, "end_time": run.end_time},
        )
    return run


def run_log(
    *,
    actor,
    run: Run,
    params: dict | None = None,
    metrics: list[dict] | None = None,
    tags: dict | None = None,
) -> None:
    """log-parameter, log-metric, set-tag and log-batch: one write, one event."""
    params = {k: str(v)[:MAX_PARAM_VALUE] for k, v in (params or {}).items()}
    with transaction.atomic():
        run = _locked_run(actor, run)
        changed = {k: v for k, v in params.items() if k in run.params and run.params[k] != v}
        if changed:
            key = next(iter(changed))
            raise ValidationError(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{run.params[key]}' for run ID='{run.run_id}'. "
                f"Attempted logging new value '{changed[key]}'."
            )
        run.params = run.params | params
        run.tags = run.tags | dict(tags or {})
        run.save(update_fields=["params", "tags"])
        RunMetric.objects.bulk_create(
            RunMetric(
                run=run,
                key=m["key"],
                value=m.get("value"),
                timestamp=m.get("timestamp") or now_ms(),
                step=m.get("step") or 0,
                model_id=m.get("model_id") or "",
            )
            for m in metrics or []
        )
        audit.record(
            actor=actor,
            action="run.log",
            target=run,
            after={"params": params, "metrics": metrics or [], "tags": tags or {}},
        )


def run_outputs_add(*, actor, run: Run, models: list[dict]) -> None:
    with transaction.atomic():
        run = _locked_run(actor, run)
        known = {o["model_id"] for o in run.outputs}
        run.outputs = run.outputs + [
            {"model_id": m["model_id"], "step": int(m.get("step") or 0)}
            for m in models
            if m.get("model_id") not in known
        ]
        run.save(update_fields=["outputs"])
        audit.record(actor=actor, action="run.outputs", target=run, after={"models": models})


def logged_model_create(
    *,
    actor,
    experiment: Experiment,
    name: str,
    source_run: Run | None,
    params: dict,
    tags: dict,
    model_type: str = "",
    external_source_run_id: str = "",
) -> LoggedModel:
    """`external_source_run_id`: the source run is in another tracking server (lineage)."""
    _require_writer(actor)
    if source_run is not None:
        external_source_run_id = ""
    elif external_source_run_id:
        validate_run_id(external_source_run_id)
    with transaction.atomic():
        experiment = _experiment_for_write(actor, experiment)
        if source_run is not None:
            source_run = _for_write(
                actor,
                source_run,
                f"Run with id={source_run.run_id} not found",
                "Only the person who started a run can log models to it.",
            )
        lm = LoggedModel.objects.create(
            model_id=f"m-{uuid.uuid4().hex}",
            experiment=experiment,
            name=(name or "model")[:250],
            source_run=source_run,
            external_source_run_id=external_source_run_id,
            params={k: str(v)[:MAX_PARAM_VALUE] for k, v in params.items()},
            tags=tags,
            model_type=model_type[:100],
            created_by=actor,
            creation_time=now_ms(),
            last_update_time=now_ms(),
        )
        audit.record(
            actor=actor,
            action="logged_model.create",
            target=lm,
            after={
                "model_id": lm.model_id,
                "name": lm.name,
                "run": getattr(source_run, "run_id", None),
                **({"external_run": external_source_run_id} if external_source_run_id else {}),
            },
        )
    return lm


def logged_model_update(*, actor, logged_model: LoggedModel, status=None, tags=None) -> LoggedModel:
    with transaction.atomic():
        lm = _for_write(
            actor,
            logged_model,
            f"Logged model with ID '{logged_model.model_id}' not found.",
            "Only the person who logged a model can change it.",
        )
        before = {"status": lm.status}
        if status:
            lm.status = status
        if tags:
            lm.tags = lm.tags | tags
        lm.last_update_time = now_ms()
        lm.save()
        audit.record(
            actor=actor,
            action="logged_model.update",
            target=lm,
            before=before,
            after={"status": lm.status, "tags": tags or {}},
        )
    return lm


# --- The artifact proxy ------------------------------------------------------------------


def staged_owner(actor, path: str) -> tuple[Run | None, LoggedModel | None]:
    """(run, logged model), one of them None, for a proxy path a client may write:
    <experiment>/<run id>/artifacts/... or <experiment>/models/<model id>/artifacts/...,
    read again and locked for the actor's write (call inside a transaction): 404 if no
    such run or logged model is visible to the actor, 403 if it is not theirs. Any other
    path raises PermissionDenied."""
    parts = path.split("/")
    if len(parts) >= 5 and parts[1] == "models" and parts[3] == "artifacts":
        found = f"Logged model with ID '{parts[2]}' not found."
        lm = LoggedModel.objects.filter(model_id=parts[2], experiment_id=_int(parts[0])).first()
        if lm is None:
            raise LoggedModel.DoesNotExist(found)
        denied = "You can only upload artifacts to your own runs and models."
        return None, _for_write(actor, lm, found, denied)
    if len(parts) >= 4 and parts[2] == "artifacts":
        found = f"Run with id={parts[1]} not found"
        run = Run.objects.filter(run_id=parts[1], experiment_id=_int(parts[0])).first()
        if run is None:
            raise Run.DoesNotExist(found)
        denied = "You can only upload artifacts to your own runs and models."
        return _for_write(actor, run, found, denied), None
    raise PermissionDenied(
        "Artifacts can only be uploaded under <experiment>/<run id>/artifacts/ or "
        "<experiment>/models/<model id>/artifacts/."
    )


def _int(text: str):
    try:
        return int(text)
    except ValueError:
        return -1


def staged_artifact_store(*, actor, path: str, stream, content_type: str = "") -> StagedArtifact:
    """PUT through the artifact proxy: streamed into storage and hashed as it streams."""
    _require_writer(actor)
    clean = storage.sanitize_path(path, keep_dirs=True)
    if clean != path.strip("/"):
        raise ValidationError(f"{path!r} is not a usable artifact path.")
    with transaction.atomic():  # checked before any byte is stored, and again below
        _run, logged_model = staged_owner(actor, clean)
    if logged_model is not None and logged_model.status == "LOGGED_MODEL_READY":
        raise PermissionDenied(f"Logged model {logged_model.model_id} is finalized.")
    prefix = f"mlflow/{uuid.uuid4().hex}"
    try:
        stored = storage.store_stream(
            stream, prefix=prefix, path=posixpath.basename(clean), content_type=content_type
        )
    except storage.ArtifactError as exc:
        if "is empty" not in str(exc):
            raise
        name = default_storage.save(f"{prefix}/{posixpath.basename(clean)}", ContentFile(b""))
        stored = storage.StoredArtifact(
            path=clean,
            storage_name=name,
            size=0,
            sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            content_type=content_type,
            needs_scan=False,
        )
    old_names = []
    try:
        with transaction.atomic():
            run, logged_model = staged_owner(actor, clean)
            if logged_model is not None and logged_model.status == "LOGGED_MODEL_READY":
                raise PermissionDenied(f"Logged model {logged_model.model_id} is finalized.")
            old = StagedArtifact.objects.select_for_update().filter(path=clean).first()
            if old is not None:
                old_names.append(old.storage_name)
                old.delete()
            row = StagedArtifact.objects.create(
                path=clean,
                storage_name=stored.storage_name,
                size=stored.size,
                sha256=stored.sha256,
                content_type=content_type[:200],
                created_by=actor,
                run=run,
                logged_model=logged_model,
            )
            audit.record(
                actor=actor,
                action="artifact.upload",
                target=row,
                after={
                    "path": clean,
                    "size": stored.size,
                    "sha256": stored.sha256,
                    "replaced": bool(old_names),
                },
            )
    except BaseException:
        storage.delete_quietly([stored.storage_name], prefix=prefix)
        raise
    storage.delete_quietly(old_names)
    return row


# --- Registering a version from a run or a logged model ---------------------------------


def _source_prefix(actor, *, source: str, run: Run | None, logged_model: LoggedModel | None):
    if logged_model is not None:
        return logged_model.artifact_path
    if source.startswith("mlflow-artifacts:"):
        return source.split(":", 1)[1].strip("/")
    if source.startswith("runs:/") and run is not None:
        rel = source[len("runs:/") :].split("/", 1)
        sub = rel[1].strip("/") if len(rel) > 1 else ""
        return f"{run.experiment_id}/{run.run_id}/artifacts" + (f"/{sub}" if sub else "")
    return None  # an external location: the version records it as lineage only


def _framework(files: list[StagedArtifact], prefix: str) -> tuple[str, str]:
    mlmodel = next((f for f in files if f.path == f"{prefix}/MLmodel"), None)
    if mlmodel is None or mlmodel.size > 1024 * 1024:
        return "", ""
    try:
        with default_storage.open(mlmodel.storage_name, "rb") as handle:
            spec = safe_yaml.load(handle.read()) or {}
    except Exception:  # a malformed MLmodel only costs the framework column
        return "", ""
    flavors = spec.get("flavors") or {}
    for name, conf in flavors.items():
        if name != "python_function":
            version = (conf or {}).get(f"{name}_version") or ""
            return str(name)[:100], str(version)[:50]
    return "", ""


def run_reference(actor, run_id: str) -> tuple[Run | None, str]:
    """The run a client names as lineage: (the run, "") when it is here and the actor sees
    it; (None, run_id) when Attest holds no such run (another tracking server's, kept as an
    external reference); not found when it is here but not the actor's to see."""
    validate_run_id(run_id)
    run = Run.objects.filter(run_id=run_id).restrict(actor).first()
    if run is not None:
        return run, ""
    if Run.objects.filter(run_id=run_id).exists():
        raise Run.DoesNotExist(f"Run with id={run_id} not found")
    return None, run_id


def version_register(
    *,
    actor,
    registered_model: RegisteredModel,
    source: str = "",
    run: Run | None = None,
    logged_model: LoggedModel | None = None,
    run_link: str = "",
    tags: dict | None = None,
    description: str = "",
    external_run_id: str = "",
) -> ModelVersion:
    """model-versions/create: a version whose files, params, metrics and lineage come from
    the run or logged model, written by version_create (hash, scan, card, audit), which
    checks change permission before anything is stored. Only the creator of the run and of
    the logged model may register from them (a version registered from a run is what lets
    the model's viewers see the run), and only their own uploaded files are opened here.
    `external_run_id` names a run Attest does not hold (another tracking server): recorded
    as the version's run, flagged external, never linked to a run here."""
    validate_source(source)  # lineage only, never a path into this server
    if logged_model is not None and run is None:
        run = logged_model.source_run
        external_run_id = external_run_id or logged_model.external_source_run_id
    if run is not None:
        external_run_id = ""
    elif external_run_id:
        validate_run_id(external_run_id)
    with transaction.atomic():
        if run is not None:
            _for_write(
                actor,
                run,
                f"Run with id={run.run_id} not found",
                "Only the person who started a run can register a version from it.",
            )
        if logged_model is not None:
            _for_write(
                actor,
                logged_model,
                f"Logged model with ID '{logged_model.model_id}' not found.",
                "Only the person who logged a model can register a version from it.",
            )
    prefix = _source_prefix(actor, source=source, run=run, logged_model=logged_model)
    files: list[StagedArtifact] = []
    if prefix:
        under = StagedArtifact.objects.filter(path__startswith=prefix + "/")
        files = list(under.restrict(actor, "view"))  # others' unseen files do not exist here
        if any(f.created_by_id != actor.pk for f in files):
            raise PermissionDenied("Those artifacts were uploaded by someone else.")
    params = dict(run.params) if run else {}
    if logged_model is not None:
        params |= logged_model.params
    metrics = {}
    if run is not None:
        for m in run.metrics.order_by("timestamp", "step", "pk"):
            if m.value is not None and math.isfinite(m.value):
                metrics[m.key] = {"name": m.key, "value": m.value, "dataset": "", "step": m.step}
    framework, framework_version = _framework(files, prefix) if prefix else ("", "")
    run_tags = run.tags if run else {}
    lineage = {
        "source": source[:1000],
        "run_id": run.run_id if run else external_run_id,
        "run_link": run_link[:1000],
        "code_commit": str(run_tags.get("mlflow.source.git.commit", ""))[:100],
        "code_repository": str(run_tags.get("mlflow.source.git.repoURL", ""))[:500],
        "framework": framework,
        "framework_version": framework_version,
    }
    handles = []
    uploads = []
    try:
        for f in files:
            if f.size == 0:
                continue  # nothing to keep, and versions refuse empty files
            handle = default_storage.open(f.storage_name, "rb")
            handles.append(handle)
            uploads.append(
                UploadFile(handle, f.path[len(prefix) + 1 :], f.content_type, keep_dirs=True)
            )
        return version_create(
            actor=actor,
            registered_model=registered_model,
            data=VersionInput(
                files=uploads,
                metrics=list(metrics.values()),
                params=params,
                lineage={k: v for k, v in lineage.items() if v},
                tags=dict(tags or {}),
                description=description or "",
                require_files=False,
                run_external=bool(external_run_id),
            ),
        )
    finally:
        for handle in handles:
            handle.close()
