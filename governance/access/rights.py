"""rights(): every action a user may do on one registered model, from one query, looked up
once per (user, model) per request (access.cache) and reused by every check (`allows`,
`require`) and by templates (`{% rights %}`)."""

from django.core.exceptions import PermissionDenied
from django.db import connections, router
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from governance.access.cache import remember, watch_grants
from governance.access.filter import model_wide_codenames
from governance.access.roles import (
    ACTIONS,
    WRITE_ACTIONS,
    approve_counts,
    codename,
    is_auditor,
)
from governance.access.sql import rights_sql


def allows(user, obj, action: str) -> bool:
    """True if `user` may do `action` on `obj`: for the guarded model itself from
    rights(), for anything else through the same filter as every list."""
    if _is_guarded(type(obj)):
        codename(action, type(obj))  # unknown actions raise ValueError
        if action in WRITE_ACTIONS and user is not None and is_auditor(user):
            return False  # without a query: auditors are read-only by construction
        return action in rights(user, obj)
    manager = type(obj)._default_manager
    return manager.filter(pk=obj.pk).restrict(user, action, few_rows=True).exists()


def require(user, obj, action: str) -> None:
    """Raise PermissionDenied (403) unless `user` may do `action` on `obj`."""
    if not allows(user, obj, action):
        raise PermissionDenied(f"You do not have {action} permission on {obj}.")


def _is_guarded(model_cls) -> bool:
    return getattr(model_cls, "guarded_path", None) == ""


def rights(user, obj) -> frozenset[str]:
    """Every action `user` may do on `obj`, an instance of the guarded model, from one
    query (its grants to the user and to their groups), remembered for the request until
    a grant or a group membership changes (access.cache).

    The same answer as restrict() on that one row for each action: deny by default (no
    grant, an anonymous or inactive user, or an object that no longer exists: nothing);
    any grant, or a registry-wide permission, lets its holder view; a write needs its own
    grant (or the registry-wide permission, or a superuser); auditors only ever view."""
    if user is None or not user.is_authenticated or not user.is_active or obj.pk is None:
        return frozenset()
    model_cls = type(obj)
    held = _object_grants(user, obj)
    if held is None:  # the object is gone
        return frozenset()
    if user.is_superuser:
        held = frozenset(ACTIONS)
    else:
        wide = model_wide_codenames(user, model_cls)
        held |= {a for a in ACTIONS if codename(a, model_cls) in wide}
    if not held:
        return frozenset()
    if is_auditor(user):
        return frozenset({"view"})  # auditors are read-only by construction
    if "approve" in held and not approve_counts(user):
        held = held - {"approve"}  # a stale approve grant still shows the model, decides nothing
    return frozenset(held | {"view"})


def _object_grants(user, obj) -> frozenset[str] | None:
    """The actions held on `obj` through object grants to `user` or their groups, or
    None if `obj` does not exist (one query, remembered for the request)."""
    return remember(
        user, ("rights", obj._meta.label, obj.pk), lambda: _read_object_grants(user, obj)
    )


def _read_object_grants(user, obj) -> frozenset[str] | None:
    model_cls = type(obj)
    watch_grants(get_user_obj_perms_model(model_cls))
    watch_grants(get_group_obj_perms_model(model_cls))
    connection = connections[router.db_for_read(model_cls)]
    sql, params = rights_sql(model_cls, connection, user.pk, obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    by_codename = {codename(a, model_cls): a for a in ACTIONS}
    return frozenset(by_codename[c] for (c,) in rows if c in by_codename)
