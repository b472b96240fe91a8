"""Access: roles, per-object grants and the one permission filter, `restrict()`.

Grants are django-guardian object permissions on the guarded model (the registered
model). Every other row is reached through its path to the guarded model, so one
subquery decides visibility for models, versions, artifacts and anything added later.
This package imports nothing from `registry`; it finds the guarded model by the path.

| module | what |
| --- | --- |
| `roles` | role groups, actions, `is_auditor`, `approve_counts`, ... |
| `filter` | `restrict()`: `RestrictedQuerySet`, `OwnedQuerySet`, the model-wide test |
| `sql` | the filter's and rights()' SQL, written by hand (`Granted`, `ScanIn`) |
| `rights` | `rights()`, `allows()`, `require()` |
| `grants` | `validate_grant`, `may_grant_approve`, `grant`, `revoke` |
| `cache` | what is remembered for one request, and what invalidates it |

Callers import the names below from `governance.access`; the modules are its inside.
"""

from governance.access.cache import remembering
from governance.access.filter import (
    OwnedManager,
    OwnedQuerySet,
    RestrictedManager,
    RestrictedQuerySet,
    _model_wide,
    model_wide_codenames,
)
from governance.access.grants import grant, may_grant_approve, revoke, validate_grant
from governance.access.rights import allows, require, rights
from governance.access.roles import (
    ACTIONS,
    APPROVER_ROLES,
    ROLE_APPROVERS,
    ROLE_AUDITORS,
    ROLE_COMPLIANCE,
    ROLE_DATA_SCIENTISTS,
    ROLE_REGISTRY_ADMINS,
    ROLES,
    SYSTEM_GROUPS,
    WRITE_ACTIONS,
    _codenames_granting,
    approve_counts,
    codename,
    has_role,
    is_approver,
    is_auditor,
    is_registry_admin,
)
from governance.access.sql import Granted, ScanIn

__all__ = [
    "ACTIONS",
    "APPROVER_ROLES",
    "ROLES",
    "ROLE_APPROVERS",
    "ROLE_AUDITORS",
    "ROLE_COMPLIANCE",
    "ROLE_DATA_SCIENTISTS",
    "ROLE_REGISTRY_ADMINS",
    "SYSTEM_GROUPS",
    "WRITE_ACTIONS",
    "Granted",
    "OwnedManager",
    "OwnedQuerySet",
    "RestrictedManager",
    "RestrictedQuerySet",
    "ScanIn",
    "_codenames_granting",
    "_model_wide",
    "allows",
    "approve_counts",
    "codename",
    "grant",
    "has_role",
    "is_approver",
    "is_auditor",
    "is_registry_admin",
    "may_grant_approve",
    "model_wide_codenames",
    "remembering",
    "require",
    "revoke",
    "rights",
    "validate_grant",
]
