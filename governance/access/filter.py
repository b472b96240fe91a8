"""The one permission filter: `restrict(user, action)` on every queryset with rules.

`RestrictedQuerySet` serves the registered model and every row that hangs off it (the
model names its `guarded_path`); `OwnedQuerySet` serves rows that have an owner rather
than a model (the tracking record, reports, webhooks), built from restrict() on what they
are linked to. Both deny by default: no grant, no row.
"""

from functools import cache

from django.db import models

from governance.access.cache import remember
from governance.access.roles import (
    ACTIONS,
    WRITE_ACTIONS,
    _codenames_granting,
    approve_counts,
    codename,
    is_auditor,
)
from governance.access.sql import Granted

_DJANGO_PERMISSION_CACHES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")


def model_wide_codenames(user, guarded) -> frozenset[str]:
    """The permissions on every object of `guarded` that `user` holds through a global
    permission (their own or a group's), looked up once per request (access.cache): the
    auth backends are asked once per action, not once per check."""
    app_label = guarded._meta.app_label

    def lookup():
        # Django's backend keeps the user's permissions on the user object for its lifetime;
        # this lookup runs once per request and after every grant or membership change, so
        # it asks afresh (the permissions a change in this request gave or took away count).
        for attr in _DJANGO_PERMISSION_CACHES:
            user.__dict__.pop(attr, None)
        return frozenset(
            c for c in (codename(a, guarded) for a in ACTIONS) if user.has_perm(f"{app_label}.{c}")
        )

    return remember(user, ("model-wide", guarded._meta.label), lookup)


def _model_wide(user, guarded, codenames) -> bool:
    """A registry-wide grant: superusers, registry admins, an explicit global permission."""
    return user.is_superuser or not model_wide_codenames(user, guarded).isdisjoint(codenames)


class RestrictedQuerySet(models.QuerySet):
    """Adds `restrict(user, action)`. Set `guarded_path` on the model to the lookup path
    of its guarded (permission-carrying) model; leave it "" on the guarded model itself."""

    def _guarded(self):
        return _guarded_of(self.model)

    def restrict(self, user, action: str = "view", *, few_rows: bool = False):
        """The rows `user` may `action`: one query, the guarded id tested `IN` a subquery
        over the user's and their groups' object grants. No grant, no row.

        `few_rows=True` is for callers that have already narrowed the query to a handful
        of rows (a detail page, a permission check): the subquery is then correlated, so
        each row's own grants are looked up by index instead of collecting every grant the
        user holds first, which costs milliseconds per query at 25,000 granted objects.
        Both forms select exactly the same rows (see `Granted` for the SQL)."""
        path, guarded = self._guarded()
        codenames = _codenames_granting(action, guarded)
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if action in WRITE_ACTIONS and is_auditor(user):
            return self.none()  # auditors are read-only by construction
        if action == "approve" and not approve_counts(user):
            return self.none()  # approve counts only for approvers (separation of duties)
        if _model_wide(user, guarded, codenames):
            return self  # a model-wide grant (registry admins, or an explicit global grant)
        return self.filter(
            Granted(path or "pk", guarded, user.pk, tuple(codenames), correlated=few_rows)
        )

    def sees_all(self, user, action: str = "view") -> bool:
        """Whether restrict(user, action) lifts its filter and returns every row: the
        registry-wide test (superusers, a model-wide permission), nothing else."""
        _, guarded = self._guarded()
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if action in WRITE_ACTIONS and is_auditor(user):
            return False
        if action == "approve" and not approve_counts(user):
            return False
        return _model_wide(user, guarded, _codenames_granting(action, guarded))


@cache
def _guarded_of(model_cls):
    path = getattr(model_cls, "guarded_path", "")
    guarded = model_cls
    for part in filter(None, path.split("__")):
        guarded = guarded._meta.get_field(part).related_model
    return path, guarded


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass


class OwnedQuerySet(models.QuerySet):
    """`restrict(user, action)` for rows that have an owner rather than a model: the MLflow
    tracking record (experiments, runs, logged models, uploaded files), reports, webhooks.
    The model declares

    - `owner_field`: the foreign key to the user who created the row (None: no owner, the
      links alone decide, as for webhooks);
    - `linked_rows(user)`, a classmethod returning a `Q` of the rows linked to something
      `user` may use, written with `restrict()` on the linked model's queryset (`Exists`
      or `__in` subqueries), so the permission filter is the one every guarded row uses;
    - optionally `shared_rows()`, a `Q` of rows every signed-in user may use (MLflow's
      Default experiment);
    - optionally `owner_needs_link = True`: the owner keeps a row only while it is linked
      to something they may use (a report about a model goes with the grant on it), and
      nobody else sees it through the link;
    - optionally `sees_all_rows(user)`, a classmethod saying whether `user` reads every
      row (the registry-wide readers of reports, registry admins for webhooks).

    A row is visible to its owner, to anyone who may use what it is linked to, and, if
    shared, to everyone signed in; only its owner may write to it (or anyone, for a shared
    row). Auditors write nothing. No owner and no link: nobody, whatever model-wide view
    the user holds (that lifts the filter on the linked rows, not on unlinked ones), unless
    `sees_all_rows` says otherwise. One query, no joins, so no duplicate rows. `few_rows`
    is accepted for `allows()`: the links are correlated subqueries already."""

    def restrict(self, user, action: str = "view", *, few_rows: bool = False):
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if action in WRITE_ACTIONS and is_auditor(user):
            return self.none()  # auditors are read-only by construction
        model = self.model
        sees_all_rows = getattr(model, "sees_all_rows", None)
        if sees_all_rows is not None and sees_all_rows(user):
            return self
        owner_field = getattr(model, "owner_field", None)
        if getattr(model, "owner_needs_link", False):
            condition = models.Q(**{owner_field: user.pk}) & model.linked_rows(user)
            return self.filter(condition)
        condition = models.Q(**{owner_field: user.pk}) if owner_field else models.Q(pk__in=[])
        shared = getattr(model, "shared_rows", None)
        if shared is not None:
            condition |= shared()
        if action == "view":
            condition |= model.linked_rows(user)
        return self.filter(condition)


class OwnedManager(models.Manager.from_queryset(OwnedQuerySet)):
    pass
