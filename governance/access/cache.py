"""What access remembers while it answers one request: a user's roles, their registry-wide
permissions and their rights on each registered model, each looked up once.

The store is request-scoped: a fresh one when a request starts (`request_started`), none
after it ends (`request_finished`), keyed by user id, so every check in the request (a
view's `require`, a service's re-check, a template's `{% rights %}`) shares one lookup per
(user, model) even when it holds another object for the same user. Outside a request (a
Celery task, a command, the shell) `remembering()` opens a scope explicitly; without one,
answers are remembered on the user object itself, as before the scope existed.

Every store is tagged with a generation that grant writes and group membership changes
bump (signals on guardian's grant tables and on the user-group table), so a grant revoked
or a member removed in the middle of a request is honoured by the next check in it.
"""

import contextvars
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db.models.signals import class_prepared, m2m_changed, post_delete, post_save
from guardian.models import (
    GroupObjectPermission,
    GroupObjectPermissionBase,
    UserObjectPermission,
    UserObjectPermissionBase,
)

# Bumped whenever a grant row or a user's group membership changes in this process.
_generation = 0

_scope: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "attest_access_scope", default=None
)

_MISSING = object()


def generation() -> int:
    return _generation


def grants_changed(**kwargs) -> None:
    """Forget everything remembered, in every scope of this process."""
    global _generation
    _generation += 1


def _store(user) -> dict:
    """The dictionary remembered answers about `user` live in, for the current generation."""
    scope = _scope.get()
    if scope is not None:
        if scope.get("generation") != _generation:
            scope.clear()
            scope["generation"] = _generation
        return scope.setdefault(user.pk, {})
    memo = getattr(user, "_attest_access", None)
    if memo is None or memo[0] != _generation:
        memo = (_generation, {})
        user._attest_access = memo
    return memo[1]


def remember(user, key, compute):
    """`compute()`, looked up once per (user, key) in the current scope and generation.
    The generation is read before computing: a change during the lookup invalidates it."""
    store = _store(user)
    value = store.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        if _store(user) is store:  # nothing changed while computing
            store[key] = value
    return value


@contextmanager
def remembering():
    """A scope outside a request (a task, a command, a test): answers are shared by user id
    until the block ends or a grant changes."""
    token = _scope.set({"generation": _generation})
    try:
        yield
    finally:
        _scope.reset(token)


def _request_started(**kwargs) -> None:
    _scope.set({"generation": _generation})


def _request_finished(**kwargs) -> None:
    _scope.set(None)


request_started.connect(_request_started, dispatch_uid="attest-access-scope-start")
request_finished.connect(_request_finished, dispatch_uid="attest-access-scope-end")


# --- What invalidates: grant rows and group memberships --------------------------------

_WATCHED: set = set()


def watch_grants(model_cls) -> None:
    """Bump the generation when rows of this grant table are saved or deleted."""
    if model_cls in _WATCHED or model_cls._meta.abstract:
        return
    if not issubclass(model_cls, UserObjectPermissionBase | GroupObjectPermissionBase):
        return
    _WATCHED.add(model_cls)
    uid = f"attest-access-{model_cls._meta.label}"
    post_save.connect(grants_changed, sender=model_cls, weak=False, dispatch_uid=uid)
    post_delete.connect(grants_changed, sender=model_cls, weak=False, dispatch_uid=uid)


def _on_class_prepared(sender, **kwargs) -> None:
    watch_grants(sender)


def _on_membership_changed(sender, **kwargs) -> None:
    """A user joined or left a group, or a user or group gained or lost a registry-wide
    permission (remembered as the user's model-wide rights)."""
    user_model = get_user_model()
    if sender in (
        user_model._meta.get_field("groups").remote_field.through,
        user_model._meta.get_field("user_permissions").remote_field.through,
        Group._meta.get_field("permissions").remote_field.through,
    ):
        grants_changed()


class_prepared.connect(_on_class_prepared, dispatch_uid="attest-access-grant-tables")
m2m_changed.connect(_on_membership_changed, dispatch_uid="attest-access-memberships")
for _grant_model in (UserObjectPermission, GroupObjectPermission):
    watch_grants(_grant_model)
