"""Aliases (@champion) point at versions. Protected ones may only point at a version in
Production, and only someone with approve permission may move them (governance.rules).
The aliases page and the MLflow API both set and delete aliases through these functions."""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access, audit, rules
from governance.rules import is_protected
from governance.services.transitions import ApprovalRequired, transition_request_ensure
from registry.models import ModelAlias, ModelVersion, RegisteredModel, Stage

ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
RESERVED_ALIAS_RE = re.compile(r"^(latest|[vV]\d+)$")


__all__ = ["AliasNeedsProduction", "alias_delete", "alias_set", "is_protected"]


class AliasNeedsProduction(PermissionDenied):
    """A protected alias was asked to point at a version that is not in Production."""


def validate_alias_name(alias: str) -> str:
    alias = (alias or "").strip()
    if not ALIAS_RE.match(alias):
        raise ValidationError({"alias": "Use 1-128 letters, digits, dashes or underscores."})
    if RESERVED_ALIAS_RE.match(alias):
        raise ValidationError({"alias": f"'{alias}' is reserved (latest and v<number>)."})
    return alias


def _require_alias_right(actor, model, alias, protected: bool):
    if rules.alias_right(protected) == "approve":
        if not access.allows(actor, model, "approve"):
            raise PermissionDenied(f"@{alias} is protected: moving it needs approve permission.")
    else:
        access.require(actor, model, "change")


def alias_set(
    *,
    actor,
    registered_model: RegisteredModel,
    alias: str,
    version: ModelVersion,
    request_production: str = "",
) -> ModelAlias:
    """Point `alias` at `version`. A protected alias only moves with approve permission and
    only to a version in Production (AliasNeedsProduction otherwise). Given
    `request_production` (a justification), a protected alias asked for a version not in
    Production is not simply refused: the request to put the version in Production is found
    or opened (the caller needs change permission) and ApprovalRequired names it."""
    alias = validate_alias_name(alias)
    if version.registered_model_id != registered_model.pk:
        raise ValidationError("That version belongs to another model.")
    protected = is_protected(alias)
    refusal = rules.alias_target_refusal(alias, version, protected=protected)
    if refusal is not None and request_production:
        what = f"Pointing protected alias @{alias} at v{version.version}"
        pending = transition_request_ensure(
            actor=actor,
            version=version,
            target_stage=Stage.PRODUCTION,
            justification=request_production,
            what=what,
        )
        raise ApprovalRequired(what, pending)
    _require_alias_right(actor, registered_model, alias, protected)
    if refusal is not None:
        raise AliasNeedsProduction(refusal)
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
            after={"alias": alias, "version": version.version, "protected": protected},
            registered_model_id=registered_model.pk,
            model_version_id=version.pk,
        )
    return row


def alias_delete(*, actor, registered_model: RegisteredModel, alias: str) -> None:
    _require_alias_right(actor, registered_model, alias, is_protected(alias))
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
