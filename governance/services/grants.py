"""Granting and revoking per-model access.

Who may grant what: a model's managers (and registry admins, who manage every model)
share view, change and manage. Approve is a governance decision: only registry admins and
Compliance grant or revoke it, and only to members of Approvers or Compliance, or to those
two groups themselves (access.validate_grant). A grant already held changes nothing."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from governance import access, audit
from registry.models import RegisteredModel


def _require_granter(actor, model, action: str):
    """PermissionDenied unless `actor` may grant or revoke `action` on `model`."""
    if action not in access.ACTIONS:
        raise ValidationError(f"Unknown permission {action!r}.")
    if action == "approve":
        if not (access.may_grant_approve(actor) and access.allows(actor, model, "view")):
            raise PermissionDenied(
                "Only registry admins and Compliance grant or revoke approve; "
                "a model's managers cannot."
            )
    elif not access.allows(actor, model, "manage"):
        raise PermissionDenied("Only the model's managers and registry admins manage access.")


def may_grant(actor, model, action: str) -> bool:
    """For pages: whether `actor` may grant or revoke `action` on `model`."""
    try:
        _require_granter(actor, model, action)
    except PermissionDenied:
        return False
    return True


def _subject(user, group) -> str:
    if (user is None) == (group is None):
        raise ValidationError("Grant to exactly one user or one group.")
    return f"user:{user.get_username()}" if user else f"group:{group.name}"


def grant_assign_check(
    *, actor, registered_model: RegisteredModel, action: str, user=None, group=None
) -> None:
    """Every rule of grant_assign without writing (for forms that check before saving, such
    as the admin's): PermissionDenied if `actor` may not grant `action`, ValidationError if
    the grant is refused or already held."""
    _require_granter(actor, registered_model, action)
    _check_assign(registered_model, action, user=user, group=group)


def _check_assign(model, action: str, *, user=None, group=None) -> None:
    _subject(user, group)
    # Refuses write grants to auditors, and approve to anyone but approvers.
    access.validate_grant(action, user=user, group=group)
    if _holds(model, action, user=user, group=group):
        who = user.get_username() if user is not None else f"The group {group.name}"
        raise ValidationError(f"{who} already holds {action} on {model}: nothing changed.")


def grant_assign(*, actor, registered_model: RegisteredModel, action: str, user=None, group=None):
    """Grant `action` on the model; one grant.assign event. A grant already held is refused
    as "nothing changed" and records nothing."""
    _require_granter(actor, registered_model, action)
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        _check_assign(registered_model, action, user=user, group=group)
        access.grant(registered_model, action, user=user, group=group)
        audit.record(
            actor=actor,
            action="grant.assign",
            target=registered_model,
            after={"permission": action, "to": _subject(user, group)},
            registered_model_id=registered_model.pk,
        )


def grant_revoke_check(
    *, actor, registered_model: RegisteredModel, action: str, user=None, group=None
) -> None:
    """Every rule of grant_revoke without writing: PermissionDenied if `actor` may not
    revoke `action`, ValidationError if nothing is held or it is the last manager."""
    _require_granter(actor, registered_model, action)
    _check_revoke(registered_model, action, user=user, group=group)


def _check_revoke(model, action: str, *, user=None, group=None) -> None:
    _subject(user, group)
    if not _holds(model, action, user=user, group=group):
        # Nothing to revoke (a stale page, a second click): say so, record nothing.
        who = user.get_username() if user is not None else f"The group {group.name}"
        raise ValidationError(f"{who} does not hold {action} on {model}: nothing to revoke.")
    if action == "manage" and _is_last_manager(model, user=user, group=group):
        raise ValidationError(
            "This is the model's last manager; grant manage to someone else first."
        )


def grant_revoke(*, actor, registered_model: RegisteredModel, action: str, user=None, group=None):
    _require_granter(actor, registered_model, action)
    with transaction.atomic():
        # Lock the model so two revokes at once cannot each see the other's manager.
        RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        _check_revoke(registered_model, action, user=user, group=group)
        access.revoke(registered_model, action, user=user, group=group)
        audit.record(
            actor=actor,
            action="grant.revoke",
            target=registered_model,
            before={"permission": action, "to": _subject(user, group)},
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


SYSTEM_DEFAULT_APPROVERS = "system:default-approvers"


def default_approvers_missing(registered_model: RegisteredModel, groups) -> list:
    """Those of `groups` that do not hold approve on the model themselves."""
    return [g for g in groups if not _holds(registered_model, "approve", group=g)]


def default_approvers_assign(*, registered_model: RegisteredModel, groups) -> list[str]:
    """Grant approve on a model that existed before the default approver groups to those
    of `groups` that do not hold it yet, by the system (the assign_default_approvers
    command); one grant.assign event per grant, none if nothing changes. Returns the names
    of the groups granted."""
    granted = []
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        for group in default_approvers_missing(registered_model, groups):
            access.grant(registered_model, "approve", group=group)  # refuses other groups
            audit.record(
                actor=SYSTEM_DEFAULT_APPROVERS,
                action="grant.assign",
                target=registered_model,
                after={"permission": "approve", "to": _subject(None, group)},
                registered_model_id=registered_model.pk,
            )
            granted.append(group.name)
    return granted
