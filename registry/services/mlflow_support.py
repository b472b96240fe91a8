"""Registry writes the MLflow API needs beyond the UI's: rename, delete, tags, descriptions.

Each is atomic, permission-checked through governance.access, and records one audit event.
Deletes need manage permission and are refused for anything that has ever been in
Production (the audit trail keeps the history of what was deleted)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import access, audit
from registry import storage
from registry.models import (
    Artifact,
    ModelTag,
    ModelVersion,
    RegisteredModel,
    Stage,
    VersionTag,
)
from registry.search import search_text_refresh
from registry.services.common import model_snapshot, version_ref
from registry.services.models import save_name

MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000


def _check_tag(key: str, value: str) -> None:
    if not key or len(key) > MAX_TAG_KEY:
        raise ValidationError(f"Tag keys need 1-{MAX_TAG_KEY} characters.")
    if len(value or "") > MAX_TAG_VALUE:
        raise ValidationError(f"Tag values are at most {MAX_TAG_VALUE} characters.")


def _ever_in_production(version: ModelVersion) -> bool:
    return version.production_approved_at is not None or version.stage == Stage.PRODUCTION


def model_rename(*, actor, registered_model: RegisteredModel, new_name: str) -> RegisteredModel:
    access.require(actor, registered_model, "manage")
    new_name = (new_name or "").strip()
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        before = {"name": model.name}
        model.name = new_name
        model.full_clean(validate_unique=False, validate_constraints=False)
        save_name(model, update_fields=["name", "updated_at"])
        search_text_refresh(model, touch=True)
        audit.record(
            actor=actor,
            action="model.rename",
            target=model,
            before=before,
            after={"name": new_name},
            registered_model_id=model.pk,
        )
    return model


def model_description_set(
    *, actor, registered_model: RegisteredModel, description: str
) -> RegisteredModel:
    access.require(actor, registered_model, "change")
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        before = {"description": model.description}
        model.description = description or ""
        model.save(update_fields=["description", "updated_at"])
        search_text_refresh(model, touch=True)
        audit.record(
            actor=actor,
            action="model.update",
            target=model,
            before=before,
            after={"description": model.description},
            registered_model_id=model.pk,
        )
    return model


def model_delete(*, actor, registered_model: RegisteredModel) -> None:
    access.require(actor, registered_model, "manage")
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        versions = list(ModelVersion.objects.filter(registered_model=model))
        live = [v.version for v in versions if _ever_in_production(v)]
        if live:
            raise PermissionDenied(
                f"{model.name} cannot be deleted: "
                f"{', '.join(f'v{n}' for n in sorted(live))} has been in Production."
            )
        names = list(
            Artifact.objects.filter(model_version__registered_model=model).values_list(
                "storage_name", flat=True
            )
        )
        audit.record(
            actor=actor,
            action="model.delete",
            target=model,
            before=model_snapshot(model) | {"versions": sorted(v.version for v in versions)},
            registered_model_id=model.pk,
        )
        model.delete()
        transaction.on_commit(lambda: storage.delete_quietly(names))


def version_delete(*, actor, version: ModelVersion) -> None:
    access.require(actor, version.registered_model, "manage")
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update()
            .select_related("registered_model")
            .get(pk=version.pk)
        )
        if _ever_in_production(version):
            raise PermissionDenied(
                f"v{version.version} of {version.registered_model.name} has been in Production "
                "and cannot be deleted; archive it instead."
            )
        artifacts = list(version.artifacts.all())
        audit.record(
            actor=actor,
            action="version.delete",
            target=version,
            before=version_ref(version)
            | {
                "lineage": version.lineage,
                "artifacts": [{"path": a.path, "sha256": a.sha256} for a in artifacts],
            },
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
        model = version.registered_model
        version.delete()
        search_text_refresh(model, touch=True)
        names = [a.storage_name for a in artifacts]
        transaction.on_commit(lambda: storage.delete_quietly(names))


def model_tag_set(*, actor, registered_model: RegisteredModel, key: str, value: str) -> None:
    access.require(actor, registered_model, "change")
    _check_tag(key, value)
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=registered_model.pk).first()
        old = ModelTag.objects.filter(registered_model=registered_model, key=key).first()
        ModelTag.objects.update_or_create(
            registered_model=registered_model, key=key, defaults={"value": value or ""}
        )
        search_text_refresh(registered_model, touch=True)
        audit.record(
            actor=actor,
            action="model.tag_set",
            target=registered_model,
            before={"key": key, "value": old.value} if old else None,
            after={"key": key, "value": value or ""},
            registered_model_id=registered_model.pk,
        )


def model_tag_delete(*, actor, registered_model: RegisteredModel, key: str) -> None:
    access.require(actor, registered_model, "change")
    with transaction.atomic():
        old = (
            ModelTag.objects.select_for_update()
            .filter(registered_model=registered_model, key=key)
            .first()
        )
        if old is None:
            raise ValidationError(f"{registered_model.name} has no tag {key!r}.")
        audit.record(
            actor=actor,
            action="model.tag_delete",
            target=registered_model,
            before={"key": key, "value": old.value},
            registered_model_id=registered_model.pk,
        )
        old.delete()
        search_text_refresh(registered_model, touch=True)


def _tag_search_text(version: ModelVersion, key: str, value: str, old_value) -> None:
    """A tag set on a version: its words are appended, unless it replaced a value that no
    other version of the model still holds (then the old words must go: a rebuild)."""
    model = version.registered_model
    stale = (
        old_value is not None
        and old_value != value
        and not VersionTag.objects.filter(
            model_version__registered_model_id=model.pk, key=key, value=old_value
        ).exists()
    )
    if stale:
        search_text_refresh(model, touch=True)
    else:
        search_text_refresh(model, added=[f"{key} {value}"], touch=True)


def version_tag_set(*, actor, version: ModelVersion, key: str, value: str) -> None:
    access.require(actor, version.registered_model, "change")
    _check_tag(key, value)
    with transaction.atomic():
        old = VersionTag.objects.select_for_update().filter(model_version=version, key=key).first()
        if old is None:
            VersionTag.objects.create(model_version=version, key=key, value=value or "")
        else:
            VersionTag.objects.filter(pk=old.pk).update(value=value or "")
        ModelVersion.objects.filter(pk=version.pk).update(updated_at=timezone.now())
        _tag_search_text(version, key, value or "", old.value if old else None)
        audit.record(
            actor=actor,
            action="version.tag_set",
            target=version,
            before={"key": key, "value": old.value} if old else None,
            after={"key": key, "value": value or ""},
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )


def version_tag_delete(*, actor, version: ModelVersion, key: str) -> None:
    access.require(actor, version.registered_model, "change")
    with transaction.atomic():
        old = VersionTag.objects.select_for_update().filter(model_version=version, key=key).first()
        if old is None:
            raise ValidationError(f"v{version.version} has no tag {key!r}.")
        audit.record(
            actor=actor,
            action="version.tag_delete",
            target=version,
            before={"key": key, "value": old.value},
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
        old.delete()
        search_text_refresh(version.registered_model, touch=True)


def version_description_set(*, actor, version: ModelVersion, description: str) -> ModelVersion:
    access.require(actor, version.registered_model, "change")
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update()
            .select_related("registered_model")
            .get(pk=version.pk)
        )
        before = {"description": version.description}
        version.description = description or ""
        version.save(update_fields=["description", "updated_at"])
        audit.record(
            actor=actor,
            action="version.update",
            target=version,
            before=before,
            after={"description": version.description},
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
    return version
