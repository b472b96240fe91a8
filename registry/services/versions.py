import contextlib
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from core import dispatch
from governance import access, audit
from registry import scanning, storage
from registry.models import (
    Artifact,
    Metric,
    ModelVersion,
    Param,
    RegisteredModel,
    VersionTag,
)
from registry.search import search_text_refresh, version_search_parts
from registry.services.common import PURGE_PREFIX_TASK, SCAN_VERSION_TASK, version_ref
from registry.sources import validate_source


@dataclass
class UploadFile:
    """A file to store: a readable stream and the name the client gave it."""

    stream: object
    name: str
    content_type: str = ""
    keep_dirs: bool = False


@dataclass
class VersionInput:
    files: list[UploadFile] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)  # name, value, dataset
    params: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    require_files: bool = True
    run_external: bool = False  # lineage.run_id is a run in another tracking server


def _validate(data: VersionInput) -> list[str]:
    errors = []
    if data.require_files and not data.files:
        errors.append("Add at least one artifact file.")
    seen_paths = set()
    for upload in data.files:
        try:
            path = storage.sanitize_path(upload.name, keep_dirs=upload.keep_dirs)
        except storage.ArtifactError as exc:
            errors.append(str(exc))
            continue
        if path in seen_paths:
            errors.append(
                f"Two files are named {path}; file names within a version must be unique."
            )
        seen_paths.add(path)
    seen_metrics = set()
    for metric in data.metrics:
        key = (metric["name"], metric.get("dataset", ""))
        if key in seen_metrics:
            errors.append(f"Metric {metric['name']} is given twice for the same dataset.")
        seen_metrics.add(key)
        if not isinstance(metric["value"], int | float) or not math.isfinite(metric["value"]):
            errors.append(f"Metric {metric['name']} needs a finite number.")
    unknown = set(data.lineage) - set(ModelVersion.LINEAGE_FIELDS)
    if unknown:
        errors.append(f"Unknown lineage fields: {', '.join(sorted(unknown))}.")
    try:
        validate_source(data.lineage.get("source") or "")
    except ValidationError as exc:
        errors.extend(exc.messages)
    return errors


def version_create(*, actor, registered_model: RegisteredModel, data: VersionInput) -> ModelVersion:
    """Store the files (hashing as they stream), then write the version and its rows in one
    transaction. On any failure nothing is kept: no rows, no files."""
    access.require(actor, registered_model, "change")
    errors = _validate(data)
    if errors:
        raise ValidationError(errors)
    prefix = storage.storage_prefix(registered_model.pk)
    stored: list[storage.StoredArtifact] = []
    try:
        for upload in data.files:
            path = storage.sanitize_path(upload.name, keep_dirs=upload.keep_dirs)
            stored.append(
                storage.store_stream(
                    upload.stream, prefix=prefix, path=path, content_type=upload.content_type
                )
            )
        # A file an MLmodel names as its pickled model is scanned whatever its bytes look
        # like (the scanner then requires it to be a readable pickle).
        named = scanning.mlmodel_pickled_paths((s.path, s.storage_name) for s in stored)
        for s in stored:
            s.needs_scan = s.needs_scan or s.path in named
        version = _write_version(actor, registered_model, data, stored)
    except BaseException:
        storage.delete_quietly((s.storage_name for s in stored), prefix=prefix)
        if data.files:
            _queue_storage_purge(actor, registered_model, prefix)
        raise
    return version


def _queue_storage_purge(actor, registered_model, prefix: str) -> None:
    """Make sure nothing of a failed upload stays in storage, even if the storage was
    unreachable just now (an interrupted S3 multipart upload leaves parts behind)."""
    with contextlib.suppress(Exception), transaction.atomic():
        dispatch.job_queue(
            task=PURGE_PREFIX_TASK,
            kind="storage_purge",
            actor=actor,
            registered_model_id=registered_model.pk,
            message="Removing a failed upload's files",
            result={"prefix": prefix},
        )


def _write_version(actor, registered_model, data: VersionInput, stored) -> ModelVersion:
    from registry.services.cards import card_start_for_version

    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        number = model.latest_version_number + 1
        version = ModelVersion(
            registered_model=model,
            version=number,
            created_by=actor,
            description=data.description,
            run_external=data.run_external and bool(data.lineage.get("run_id")),
            **data.lineage,
        )
        version.full_clean(exclude=["registered_model", "created_by"], validate_unique=False)
        version.save()
        artifacts = Artifact.objects.bulk_create(
            Artifact(
                model_version=version,
                path=s.path,
                storage_name=s.storage_name,
                size=s.size,
                sha256=s.sha256,
                content_type=s.content_type,
                scan_status=(
                    Artifact.ScanStatus.PENDING
                    if s.needs_scan
                    else Artifact.ScanStatus.NOT_APPLICABLE
                ),
            )
            for s in stored
        )
        Metric.objects.bulk_create(
            Metric(
                model_version=version,
                name=m["name"],
                value=m["value"],
                dataset=m.get("dataset", ""),
                step=m.get("step", 0),
            )
            for m in data.metrics
        )
        Param.objects.bulk_create(
            Param(model_version=version, key=k, value=v) for k, v in data.params.items()
        )
        VersionTag.objects.bulk_create(
            VersionTag(model_version=version, key=k, value=v) for k, v in data.tags.items()
        )
        # One UPDATE of the locked row: the number, the time, and the search text with the
        # new version's words appended (no read of the other versions' tags).
        search_text_refresh(
            model,
            added=version_search_parts(version, data.tags),
            current_text=model.search_text,
            touch=True,
            latest_version_number=number,
        )
        job = None
        if any(a.scan_status == Artifact.ScanStatus.PENDING for a in artifacts):
            job = dispatch.job_queue(
                task=SCAN_VERSION_TASK,
                kind="artifact_scan",
                actor=actor,
                registered_model_id=model.pk,
                model_version_id=version.pk,
                message="Waiting for the scanner",
            )
        # The model card starts as the previous version's (carried over) or empty; it is
        # part of this write and of its one audit event.
        card = card_start_for_version(actor=actor, version=version)
        audit.record(
            actor=actor,
            action="version.create",
            target=version,
            after=version_snapshot(version, artifacts, data)
            | {"scan_job": job.pk if job else None, "card": card},
            registered_model_id=model.pk,
            model_version_id=version.pk,
        )
    return version


def version_snapshot(version: ModelVersion, artifacts, data: VersionInput) -> dict:
    return version_ref(version) | {
        "description": version.description,
        "lineage": version.lineage | ({"run_external": True} if version.run_external else {}),
        "artifacts": [{"path": a.path, "size": a.size, "sha256": a.sha256} for a in artifacts],
        "metrics": data.metrics,
        "params": data.params,
        "tags": data.tags,
    }
