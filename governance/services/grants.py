"""Granting and revoking per-model access, by managers of the model and registry admins."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

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
    with transaction.atomic():
        # Lock the model so two revokes at once cannot each see the other's manager.
        RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        if not _holds(registered_model, action, user=user, group=group):
            # Nothing to revoke (a stale page, a second click): say so, record nothing.
            who = user.get_username() if user is not None else f"The group {group.name}"
            raise ValidationError(
                f"{who} does not hold {action} on {registered_model}: nothing to revoke."
            )
        if action == "manage" and _is_last_manager(registered_model, user=user, group=group):
            raise ValidationError(
                "This is the model's last manager; grant manage to someone else first."
            )
        access.revoke(registered_model, action, user=user, group=group)
        audit.record(
            actor=actor,
            action="grant.revoke",
            target=registered_model,
            before={"permission": action, "to": subject},
            registered_model_id=registered_model.pk,
        )


def _holds(model, action: str, *, user=None, group=None) -> bool:
    """True if the user or group itself (not through a group) holds `action` on `model`."""
    if user is not None:
        grants, holder = get_user_obj_perms_model(model), {"user": user}
    else:
        grants, holder = get_group_obj_perms_model(model), {"group": group}
    return grants.objects.filter(
        content_object=model, permission__codename=access.codename(action, type(model)), **holder
    ).exists()


def _is_last_manager(model, *, user=None, group=None) -> bool:
    """True if the user or group holds the model's only manage grant (to a user or a
    group); a grant through a group is the group's, so revoking it is the group's case."""
    codename = access.codename("manage", RegisteredModel)
    managers = get_users_with_perms(model, only_with_perms_in=[codename], with_group_users=False)
    by_group = get_groups_with_perms(model, attach_perms=True)
    groups = [g for g, perms in by_group.items() if codename in perms]
    holds = managers.filter(pk=user.pk).exists() if user is not None else group in groups
    return holds and managers.count() + len(groups) <= 1
