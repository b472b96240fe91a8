"""Attest rows as MLflow's JSON messages (the proto3 JSON of model_registry.proto and
service.proto): timestamps in epoch milliseconds, versions as strings, tags as key/value
lists."""

from django.db.models import Max, Prefetch, Q

from registry.models import ModelAlias, ModelVersion, Stage, VersionTag

DOWNLOAD_SCHEME = "mlflow-artifacts:"


def ms(moment) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def tag_list(tags) -> list[dict]:
    if isinstance(tags, dict):
        return [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return [{"key": t.key, "value": t.value} for t in tags]


def download_uri(version: ModelVersion) -> str:
    """Where the client downloads a version: always its own stored, hashed files through
    the artifact proxy. An external source is lineage and is never handed out (issue 22)."""
    return f"{DOWNLOAD_SCHEME}/versions/{version.pk}"


def model_id_of(version: ModelVersion) -> str:
    source = version.source or ""
    return source[len("models:/") :] if source.startswith("models:/m-") else ""


def model_version(version: ModelVersion, *, name: str | None = None, tags=None, aliases=None):
    data = {
        "name": name or version.registered_model.name,
        "version": str(version.version),
        "creation_timestamp": ms(version.created_at),
        "last_updated_timestamp": ms(version.updated_at),
        "user_id": version.created_by.get_username() if version.created_by_id else "",
        "current_stage": version.stage,
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id,
        "status": version.status,
        "run_link": version.run_link,
    }
    model_id = model_id_of(version)
    if model_id:
        data["model_id"] = model_id
    if tags:
        data["tags"] = tag_list(tags)
    if aliases:
        data["aliases"] = list(aliases)
    return data


def latest_versions_by_model(model_ids, stages=None) -> dict[int, list[ModelVersion]]:
    """The newest version in each stage, per model: MLflow's `latest_versions`."""
    rows = ModelVersion.objects.filter(registered_model_id__in=model_ids)
    if stages:
        rows = rows.filter(stage__in=stages)
    newest = rows.values("registered_model_id", "stage").annotate(top=Max("version"))
    wanted = Q(pk__in=[])
    for row in newest:
        wanted |= Q(registered_model_id=row["registered_model_id"], version=row["top"])
    result: dict[int, list[ModelVersion]] = {}
    if not newest:
        return result
    rows = (
        ModelVersion.objects.filter(wanted)
        .select_related("created_by")
        .prefetch_related(Prefetch("tags", queryset=VersionTag.objects.order_by("key")))
        .order_by("version")
    )
    for v in rows:
        result.setdefault(v.registered_model_id, []).append(v)
    return result


def latest_version(version: ModelVersion, *, name: str) -> dict:
    """A version as MLflow lists it in `latest_versions`: with its tags (prefetched)."""
    return model_version(version, name=name, tags=list(version.tags.all()))


def aliases_by_model(model_ids) -> dict[int, list[tuple[str, int]]]:
    result: dict[int, list[tuple[str, int]]] = {}
    rows = ModelAlias.objects.filter(registered_model_id__in=model_ids).values_list(
        "registered_model_id", "alias", "model_version__version"
    )
    for model_id, alias, number in rows.order_by("alias"):
        result.setdefault(model_id, []).append((alias, number))
    return result


def registered_models(models) -> list[dict]:
    """Many models in a constant number of queries (tags must be prefetched)."""
    ids = [m.pk for m in models]
    latest = latest_versions_by_model(ids) if ids else {}
    aliases = aliases_by_model(ids) if ids else {}
    return [
        registered_model(m, latest=latest.get(m.pk, []), aliases=aliases.get(m.pk, []))
        for m in models
    ]


def registered_model(model, *, latest=None, aliases=None) -> dict:
    if latest is None:
        latest = latest_versions_by_model([model.pk]).get(model.pk, [])
    if aliases is None:
        aliases = aliases_by_model([model.pk]).get(model.pk, [])
    data = {
        "name": model.name,
        "creation_timestamp": ms(model.created_at),
        "last_updated_timestamp": ms(model.updated_at),
        "description": model.description,
        "user_id": model.created_by.get_username() if model.created_by_id else "",
    }
    if latest:
        data["latest_versions"] = [latest_version(v, name=model.name) for v in latest]
    tags = list(model.tags.all())
    if tags:
        data["tags"] = tag_list(tags)
    if aliases:
        data["aliases"] = [{"alias": a, "version": str(n)} for a, n in aliases]
    return data


STAGES_BY_LOWER = {s.lower(): s for s in Stage.values}


def stage_name(text: str) -> str | None:
    return STAGES_BY_LOWER.get((text or "").strip().lower())


# --- Tracking ---------------------------------------------------------------------------


def experiment(exp) -> dict:
    return {
        "experiment_id": str(exp.pk),
        "name": exp.name,
        "artifact_location": exp.artifact_location or f"{DOWNLOAD_SCHEME}/{exp.pk}",
        "lifecycle_stage": exp.lifecycle_stage,
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
        "tags": tag_list(exp.tags),
    }


def run_info(run) -> dict:
    data = {
        "run_uuid": run.run_id,
        "run_id": run.run_id,
        "experiment_id": str(run.experiment_id),
        "run_name": run.name,
        "user_id": run.user.get_username() if run.user_id else "",
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": f"{DOWNLOAD_SCHEME}/{run.experiment_id}/{run.run_id}/artifacts",
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time:
        data["end_time"] = run.end_time
    return data


def latest_metrics(run) -> list[dict]:
    latest: dict[str, dict] = {}
    for m in run.metrics.filter(model_id="").order_by("step", "timestamp", "pk"):
        latest[m.key] = metric(m)
    return list(latest.values())


def metric(m) -> dict:
    return {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}


def run(r) -> dict:
    data = {
        "metrics": latest_metrics(r),
        "params": tag_list(r.params),
        "tags": tag_list(r.tags),
    }
    outputs = {"model_outputs": r.outputs} if r.outputs else {}
    return {"info": run_info(r), "data": data, "inputs": {}, "outputs": outputs}


def logged_model(lm) -> dict:
    metrics = [
        metric(m) | {"model_id": lm.model_id, "run_id": lm.source_run.run_id}
        for m in (lm.source_run.metrics.filter(model_id=lm.model_id) if lm.source_run else [])
    ]
    return {
        "info": {
            "model_id": lm.model_id,
            "experiment_id": str(lm.experiment_id),
            "name": lm.name,
            "creation_timestamp_ms": lm.creation_time,
            "last_updated_timestamp_ms": lm.last_update_time,
            "artifact_uri": f"{DOWNLOAD_SCHEME}/{lm.artifact_path}",
            "status": lm.status,
            "model_type": lm.model_type,
            "source_run_id": lm.source_run.run_id if lm.source_run else lm.external_source_run_id,
            "tags": tag_list(lm.tags),
        },
        "data": {"params": tag_list(lm.params), "metrics": metrics},
    }
