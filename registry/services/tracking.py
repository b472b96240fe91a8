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
from django.db import transaction

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
from registry.services.versions import UploadFile, VersionInput, version_create

DEFAULT_EXPERIMENT_ID = 0
MAX_PARAM_VALUE = 6000


def now_ms() -> int:
    return int(time.time() * 1000)


def _require_writer(actor) -> None:
    if not getattr(actor, "is_authenticated", False) or access.is_auditor(actor):
        raise PermissionDenied("Auditors are read-only.")


def owns(actor, owner_id) -> bool:
    return owner_id == actor.pk or access.is_registry_admin(actor)


def default_experiment() -> Experiment:
    exp = Experiment.objects.filter(pk=DEFAULT_EXPERIMENT_ID).first()
    if exp is None:
        with transaction.atomic():
            exp, _ = Experiment.objects.get_or_create(
                pk=DEFAULT_EXPERIMENT_ID,
                defaults={
                    "name": "Default",
                    "artifact_location": "mlflow-artifacts:/0",
                    "creation_time": now_ms(),
                    "last_update_time": now_ms(),
                },
            )
    return exp


def experiment_create(*, actor, name: str, tags: dict | None = None) -> Experiment:
    _require_writer(actor)
    name = (name or "").strip()
    if not name or len(name) > 500:
        raise ValidationError("An experiment needs a name of 1-500 characters.")
    default_experiment()
    with transaction.atomic():
        if Experiment.objects.filter(name=name).exists():
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
    _require_writer(actor)
    if not owns(actor, run.user_id):
        raise PermissionDenied("Only the person who started a run can change it.")
    return Run.objects.select_for_update().get(pk=run.pk)


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
) -> LoggedModel:
    _require_writer(actor)
    if source_run is not None and not owns(actor, source_run.user_id):
        raise PermissionDenied("Only the person who started a run can log models to it.")
    with transaction.atomic():
        lm = LoggedModel.objects.create(
            model_id=f"m-{uuid.uuid4().hex}",
            experiment=experiment,
            name=(name or "model")[:250],
            source_run=source_run,
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
            },
        )
    return lm


def logged_model_update(*, actor, logged_model: LoggedModel, status=None, tags=None) -> LoggedModel:
    _require_writer(actor)
    if not owns(actor, logged_model.created_by_id):
        raise PermissionDenied("Only the person who logged a model can change it.")
    with transaction.atomic():
        lm = LoggedModel.objects.select_for_update().get(pk=logged_model.pk)
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


def staged_owner(path: str):
    """(owner user id, the logged model or None) for a proxy path a client may write:
    <experiment>/<run id>/artifacts/... or <experiment>/models/<model id>/artifacts/...
    Raises PermissionDenied for anything else."""
    parts = path.split("/")
    if len(parts) >= 5 and parts[1] == "models" and parts[3] == "artifacts":
        lm = LoggedModel.objects.filter(model_id=parts[2], experiment_id=_int(parts[0])).first()
        if lm is not None:
            return lm.created_by_id, lm
    elif len(parts) >= 4 and parts[2] == "artifacts":
        run = Run.objects.filter(run_id=parts[1], experiment_id=_int(parts[0])).first()
        if run is not None:
            return run.user_id, None
    raise PermissionDenied(
        "Artifacts can only be uploaded under an existing run or logged model of yours."
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
    owner_id, logged_model = staged_owner(clean)
    if not owns(actor, owner_id):
        raise PermissionDenied("You can only upload artifacts to your own runs and models.")
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
) -> ModelVersion:
    """model-versions/create: a version whose files, params, metrics and lineage come from
    the run or logged model, written by version_create (hash, scan, card, audit), which
    checks change permission before anything is stored; the staged files are only opened
    here, and only the uploader's (or a registry admin's) are accepted."""
    if logged_model is not None and run is None:
        run = logged_model.source_run
    prefix = _source_prefix(actor, source=source, run=run, logged_model=logged_model)
    files: list[StagedArtifact] = []
    if prefix:
        files = list(StagedArtifact.objects.filter(path__startswith=prefix + "/"))
        foreign = [f for f in files if not owns(actor, f.created_by_id)]
        if foreign:
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
        "run_id": run.run_id if run else "",
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
            ),
        )
    finally:
        for handle in handles:
            handle.close()
