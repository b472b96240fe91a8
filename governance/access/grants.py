"""Who may be granted what (validate_grant), who may assign approvers
(may_grant_approve), and the low-level grant writes the audited services call."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from guardian.shortcuts import assign_perm, remove_perm

from governance.access.roles import (
    ACTIONS,
    APPROVER_ROLES,
    ROLE_AUDITORS,
    ROLE_COMPLIANCE,
    WRITE_ACTIONS,
    codename,
    has_role,
    is_approver,
    is_auditor,
    is_registry_admin,
)


def may_grant_approve(user) -> bool:
    """Who assigns approvers: registry admins and Compliance, never a model's managers."""
    return (
        user.is_authenticated
        and not is_auditor(user)
        and (is_registry_admin(user) or has_role(user, ROLE_COMPLIANCE))
    )


def validate_grant(action: str, *, user=None, group: Group | None = None) -> None:
    """Refuse write grants to auditors, or to the Auditors group itself; and approve to
    anyone outside Approvers and Compliance, or to any group but those two."""
    if action not in ACTIONS:
        raise ValidationError(f"Unknown permission {action!r}.")
    if action not in WRITE_ACTIONS:
        return
    if user is not None and is_auditor(user):
        raise ValidationError(f"{user} is an auditor; auditors can only be granted view.")
    if group is not None and group.name == ROLE_AUDITORS:
        raise ValidationError("The Auditors group can only be granted view.")
    if action == "approve":
        if user is not None and not is_approver(user):
            raise ValidationError(
                f"{user} is not in Approvers or Compliance; only approvers can be granted approve."
            )
        if group is not None and group.name not in APPROVER_ROLES:
            raise ValidationError(
                f"Only the Approvers or Compliance groups can be granted approve, not {group}."
            )


def grant(obj, action: str, *, user=None, group=None) -> None:
    """Low-level grant; callers are audited services that record the change."""
    validate_grant(action, user=user, group=group)
    assign_perm(codename(action, type(obj)), user or group, obj)


def revoke(obj, action: str, *, user=None, group=None) -> None:
    remove_perm(codename(action, type(obj)), user or group, obj)
