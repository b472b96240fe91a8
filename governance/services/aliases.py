"""Aliases (@champion) point at versions. Protected ones may only point at a version in
Production, and only someone with approve permission may move them."""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access, audit
from governance.models import ProtectedAlias
from registry.models import ModelAlias, ModelVersion, RegisteredModel, Stage

ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
RESERVED_ALIAS_RE = re.compile(r"^(latest|[vV]\d+)$")


def is_protected(alias: str) -> bool:
    return ProtectedAlias.objects.filter(name__iexact=alias).exists()


def validate_alias_name(alias: str) -> str:
    alias = (alias or "").strip()
    if not ALIAS_RE.match(alias):
        raise ValidationError({"alias": "Use 1-128 letters, digits, dashes or underscores."})
    if RESERVED_ALIAS_RE.match(alias):
        raise ValidationError({"alias": f"'{alias}' is reserved (latest and v<number>)."})
    return alias


def _require_alias_right(actor, model, alias):
    if is_protected(alias):
        if not access.allows(actor, model, "approve"):
            raise PermissionDenied(f"@{alias} is protected: moving it needs approve permission.")
    else:
        access.require(actor, model, "change")


def alias_set(
    *, actor, registered_model: RegisteredModel, alias: str, version: ModelVersion
) -> ModelAlias:
    alias = validate_alias_name(alias)
    if version.registered_model_id != registered_model.pk:
        raise ValidationError("That version belongs to another model.")
    _require_alias_right(actor, registered_model, alias)
    if is_protected(alias) and version.stage != Stage.PRODUCTION:
        raise PermissionDenied(
            f"@{alias} is protected: it can only point at a version approved for Production "
            f"(v{version.version} is in {version.stage})."
        )
    with transaction.atomic():
        existing = (
            ModelAlias.objects.select_for_update()
            .filter(registered_model=registered_model, alias=alias)
            .select_related("model_version")
            .first()
        )
        before = {"alias": alias, "version": existing.model_version.version} if existing else None
        row, _ = ModelAlias.objects.update_or_create(
            registered_model=registered_model, alias=alias, defaults={"model_version": version}
        )
        audit.record(
            actor=actor,
            action="alias.set",
            target=row,
            before=before,
            after={"alias": alias, "version": version.version, "protected": is_protected(alias)},
            registered_model_id=registered_model.pk,
            model_version_id=version.pk,
        )
    return row


def alias_delete(*, actor, registered_model: RegisteredModel, alias: str) -> None:
    _require_alias_right(actor, registered_model, alias)
    with transaction.atomic():
        row = (
            ModelAlias.objects.select_for_update()
            .filter(registered_model=registered_model, alias=alias)
            .select_related("model_version")
            .first()
        )
        if row is None:
            raise ValidationError(f"No alias @{alias} on {registered_model.name}.")
        audit.record(
            actor=actor,
            action="alias.delete",
            target=row,
            before={"alias": alias, "version": row.model_version.version},
            registered_model_id=registered_model.pk,
            model_version_id=row.model_version_id,
        )
        row.delete()
