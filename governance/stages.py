"""Moving a version between stages. Only the governance services call this, inside their
transaction and audit event: a stage never changes any other way.

Because every stage change passes here, this is also where protected aliases (@champion)
follow Production: when a version leaves Production, each protected alias on it moves to
the model's one remaining Production version, or is removed when there is none (or more
than one to choose from), in the same transaction, each with its own audit event."""

from django.utils import timezone

from governance import audit
from governance.models import ProtectedAlias
from registry.models import ModelAlias, ModelVersion, Stage

SYSTEM_ACTOR = "system:lifecycle"


def move_to_stage(
    version: ModelVersion, target: str, *, archive_previous: bool, actor=SYSTEM_ACTOR
) -> dict:
    """Returns what moved, for the audit event of the service that asked. `actor` is who
    the alias events name (the service's acting user)."""
    moved = {"version": version.version, "from": version.stage, "to": target, "archived": []}
    left_production = []
    if target == Stage.PRODUCTION and archive_previous:
        previous = (
            ModelVersion.objects.select_for_update()
            .filter(registered_model_id=version.registered_model_id, stage=Stage.PRODUCTION)
            .exclude(pk=version.pk)
        )
        rows = list(previous.values_list("pk", "version"))
        moved["archived"] = sorted(number for _pk, number in rows)
        left_production += [pk for pk, _number in rows]
        previous.update(stage=Stage.ARCHIVED, updated_at=timezone.now())
    if version.stage == Stage.PRODUCTION and target != Stage.PRODUCTION:
        left_production.append(version.pk)
    version.stage = target
    fields = ["stage", "updated_at"]
    if target == Stage.PRODUCTION and version.production_approved_at is None:
        version.production_approved_at = timezone.now()
        fields.append("production_approved_at")
    version.save(update_fields=fields)
    if left_production:
        aliases = follow_production(version.registered_model_id, left_production, actor=actor)
        if aliases:
            moved["aliases"] = aliases
    return moved


def protected_names() -> set[str]:
    return {name.lower() for name in ProtectedAlias.objects.values_list("name", flat=True)}


def follow_production(model_id: int, left_ids: list[int], *, actor=SYSTEM_ACTOR) -> list[dict]:
    """Move or remove the protected aliases on versions that have just left Production.
    Runs inside the caller's transaction; one audit event per alias."""
    rows = list(
        ModelAlias.objects.select_for_update()
        .filter(registered_model_id=model_id, model_version_id__in=left_ids)
        .select_related("model_version")
        .order_by("alias")
    )
    protected = protected_names() if rows else set()
    rows = [row for row in rows if row.alias.lower() in protected]
    if not rows:
        return []
    live = list(
        ModelVersion.objects.filter(registered_model_id=model_id, stage=Stage.PRODUCTION)
        .order_by("version")
        .only("pk", "version")
    )
    heir = live[0] if len(live) == 1 else None
    changes = []
    for row in rows:
        old = row.model_version.version
        before = {"alias": row.alias, "version": old, "protected": True}
        why = f"v{old} left Production"
        if heir is not None:
            row.model_version = heir
            row.save(update_fields=["model_version"])
            after = {"alias": row.alias, "version": heir.version, "protected": True, "why": why}
            audit.record(
                actor=actor,
                action="alias.move",
                target=row,
                before=before,
                after=after,
                registered_model_id=model_id,
                model_version_id=heir.pk,
            )
            changes.append({"alias": row.alias, "from": old, "to": heir.version})
        else:
            audit.record(
                actor=actor,
                action="alias.delete",
                target=row,
                before=before,
                after={
                    "why": why
                    + (
                        "; no version is in Production"
                        if not live
                        else "; several versions are in Production, an approver picks one"
                    )
                },
                registered_model_id=model_id,
                model_version_id=row.model_version_id,
            )
            row.delete()
            changes.append({"alias": row.alias, "from": old, "to": None})
    return changes
