"""Roles (Django groups made by a data migration), the actions a grant can give, and the
role tests every check starts from. A user's group names are read once per request."""

from governance.access.cache import remember

ROLE_DATA_SCIENTISTS = "Data scientists"
ROLE_APPROVERS = "Approvers"
ROLE_AUDITORS = "Auditors"
ROLE_REGISTRY_ADMINS = "Registry admins"
ROLES = (ROLE_DATA_SCIENTISTS, ROLE_APPROVERS, ROLE_AUDITORS, ROLE_REGISTRY_ADMINS)
ROLE_COMPLIANCE = "Compliance"
# Groups that say what someone may do, as opposed to teams that own models.
SYSTEM_GROUPS = (*ROLES, ROLE_COMPLIANCE)
# The roles whose members may hold approve: a grant of approve counts only while its
# holder is in one of them (see approve_counts), and is only ever granted to them.
APPROVER_ROLES = (ROLE_APPROVERS, ROLE_COMPLIANCE)

ACTIONS = ("view", "change", "approve", "manage")
WRITE_ACTIONS = frozenset({"change", "approve", "manage"})


def _group_names(user) -> frozenset[str]:
    """The user's group names, remembered for the request (access.cache) until a grant or
    a group membership changes (roles decide whether approve counts)."""
    if not user.pk:
        return frozenset()
    return remember(user, "groups", lambda: frozenset(user.groups.values_list("name", flat=True)))


def is_auditor(user) -> bool:
    return user.is_authenticated and ROLE_AUDITORS in _group_names(user)


def is_registry_admin(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or ROLE_REGISTRY_ADMINS in _group_names(user)
    )


def has_role(user, role: str) -> bool:
    return user.is_authenticated and role in _group_names(user)


def is_approver(user) -> bool:
    """In Approvers or Compliance now."""
    return user.is_authenticated and not _group_names(user).isdisjoint(APPROVER_ROLES)


def approve_counts(user) -> bool:
    """Whether an approve grant held by `user` counts: only while they are in an approver
    role (a data scientist holding an old grant, or someone removed from Approvers, decides
    nothing). Superusers keep Django's meaning: every permission."""
    return user.is_superuser or is_approver(user)


def codename(action: str, model_cls) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return f"{action}_{model_cls._meta.model_name}"


def _codenames_granting(action: str, model_cls) -> list[str]:
    # Any grant lets its holder see the object; writes need their own grant.
    actions = ACTIONS if action == "view" else (action,)
    return [codename(a, model_cls) for a in actions]
