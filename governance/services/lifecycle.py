"""Archiving and emergency rollback. (The risk class: governance/services/risk.py.)"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access, audit
from governance.models import TransitionRequest
from governance.policy import policy_for, policy_snapshot
from governance.rules import archive_right
from governance.services.common import required_text, version_ref
from governance.services.notifications import OPENED, transition_notify
from governance.stages import move_to_stage
from registry.models import ModelVersion, RegisteredModel, Stage


def version_archive(*, actor, version: ModelVersion, reason: str) -> ModelVersion:
    model = version.registered_model
    if not (access.allows(actor, model, "change") or access.allows(actor, model, "approve")):
        raise PermissionDenied(f"You do not have change permission on {model}.")
    reason = required_text(reason, "A reason")
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update()
            .select_related("registered_model")
            .get(pk=version.pk)
        )
        if version.stage == Stage.ARCHIVED:
            raise ValidationError(f"v{version.version} is already archived.")
        if archive_right(version) == "approve" and not access.allows(actor, model, "approve"):
            raise PermissionDenied(
                f"v{version.version} is in Production: taking it out needs approve permission "
                "on the model. Ask an approver to archive it or to roll Production back."
            )
        access.require(actor, model, archive_right(version))
        before = version_ref(version)
        moved = move_to_stage(version, Stage.ARCHIVED, archive_previous=False, actor=actor)
        audit.record(
            actor=actor,
            action="version.archive",
            target=version,
            before=before,
            after=version_ref(version) | {"reason": reason, "aliases": moved.get("aliases")},
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
    return version


def emergency_rollback(
    *, actor, registered_model: RegisteredModel, reason: str
) -> TransitionRequest:
    """Put the previous approved Production version back at once, archive the current one,
    and open a post-hoc review that must be decided like any other request."""
    access.require(actor, registered_model, "approve")
    reason = required_text(reason, "A reason")
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        versions = (
            ModelVersion.objects.select_for_update()
            .filter(registered_model=registered_model)
            .select_related("registered_model")
        )
        current = versions.filter(stage=Stage.PRODUCTION).order_by("-version").first()
        if current is None:
            raise ValidationError("No version is in Production, so there is nothing to roll back.")
        previous = (
            versions.exclude(pk=current.pk)
            .filter(production_approved_at__isnull=False)
            .order_by("-production_approved_at")
            .first()
        )
        if previous is None:
            raise ValidationError("No earlier version was ever approved for Production.")
        moved = move_to_stage(previous, Stage.PRODUCTION, archive_previous=True, actor=actor)
        review = TransitionRequest.objects.create(
            model_version=previous,
            target_stage=Stage.PRODUCTION,
            kind=TransitionRequest.Kind.POST_HOC,
            requested_by=actor,
            justification=f"Emergency rollback from v{current.version}: {reason}",
            policy=policy_snapshot(policy_for(Stage.PRODUCTION, registered_model.risk_class)),
        )
        audit.record(
            actor=actor,
            action="version.emergency_rollback",
            target=previous,
            before={"production": current.version},
            after={
                "production": previous.version,
                "archived": moved["archived"],
                "reason": reason,
                "review_request": review.pk,
                "emergency": True,
            },
            registered_model_id=registered_model.pk,
            model_version_id=previous.pk,
        )
    with transaction.atomic():
        transition_notify(request=review, event=OPENED, actor=actor)
    return review
