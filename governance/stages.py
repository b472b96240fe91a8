"""Moving a version between stages. Only the governance services call this, inside their
transaction and audit event: a stage never changes any other way."""

from django.utils import timezone

from registry.models import ModelVersion, Stage


def move_to_stage(version: ModelVersion, target: str, *, archive_previous: bool) -> dict:
    """Returns what moved, for the audit event of the service that asked."""
    moved = {"version": version.version, "from": version.stage, "to": target, "archived": []}
    if target == Stage.PRODUCTION and archive_previous:
        previous = (
            ModelVersion.objects.select_for_update()
            .filter(registered_model_id=version.registered_model_id, stage=Stage.PRODUCTION)
            .exclude(pk=version.pk)
        )
        moved["archived"] = sorted(previous.values_list("version", flat=True))
        previous.update(stage=Stage.ARCHIVED, updated_at=timezone.now())
    version.stage = target
    fields = ["stage", "updated_at"]
    if target == Stage.PRODUCTION and version.production_approved_at is None:
        version.production_approved_at = timezone.now()
        fields.append("production_approved_at")
    version.save(update_fields=fields)
    return moved
