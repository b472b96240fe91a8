"""Granting and revoking per-model access, by managers of the model and registry admins."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from governance import access, audit
from registry.models import RegisteredModel


def _require_manager(actor, model):
    if not access.allows(actor, model, "manage"):
        raise PermissionDenied("Only the model's managers and registry admins manage access.")


def _subject(user, group) -> str:
    if (user is None) == (group is None):
        raise ValidationError("Grant to exactly one user or one group.")
    return f"user:{user.get_username()}" if user else f"group:{group.name}"


def grant_assign(*, actor, registered_model: RegisteredModel, action: str, user=None, group=None):
    _require_manager(actor, registered_model)
    subject = _subject(user, group)
    with transaction.atomic():
        access.grant(registered_model, action, user=user, group=group)  # refuses auditors
        audit.record(
            actor=actor,
            action="grant.assign",
            target=registered_model,
            after={"permission": action, "to": subject},
            registered_model_id=registered_model.pk,
        )


def grant_revoke(*, actor, registered_model: RegisteredModel, action: str, user=None, group=None):
    _require_manager(actor, registered_model)
    subject = _subject(user, group)
    revoking_last_manager = (
        action == "manage"
        and user is not None
        and _manager_count(registered_model) <= 1
        and user.has_perm(access.codename("manage", RegisteredModel), registered_model)
    )
    if revoking_last_manager:
        raise ValidationError(
            "This is the model's last manager; grant manage to someone else first."
        )
    with transaction.atomic():
        access.revoke(registered_model, action, user=user, group=group)
        audit.record(
            actor=actor,
            action="grant.revoke",
            target=registered_model,
            before={"permission": action, "to": subject},
            registered_model_id=registered_model.pk,
        )


def _manager_count(model) -> int:
    codename = access.codename("manage", RegisteredModel)
    users = get_users_with_perms(model, only_with_perms_in=[codename], with_group_users=False)
    groups = get_groups_with_perms(model, attach_perms=True)
    return users.count() + sum(1 for perms in groups.values() if codename in perms)
