"""Access: roles, per-object grants and the one permission filter, `restrict()`.

Grants are django-guardian object permissions on the guarded model (the registered
model). Every other row is reached through its path to the guarded model, so one
subquery decides visibility for models, versions, artifacts and anything added later.
This module imports nothing from `registry`; it finds the guarded model by the path.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, models, router
from django.db.models.lookups import In
from django.db.models.signals import class_prepared, m2m_changed, post_delete, post_save
from guardian.models import (
    GroupObjectPermission,
    GroupObjectPermissionBase,
    UserObjectPermission,
    UserObjectPermissionBase,
)
from guardian.shortcuts import assign_perm, remove_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

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
    """The user's group names, remembered on the user object until a grant or a group
    membership changes in this process (roles decide whether approve counts)."""
    cached = getattr(user, "_attest_group_names", None)
    if cached is None or cached[0] != _generation:
        generation = _generation  # read before the query: a change during it invalidates
        names = frozenset(user.groups.values_list("name", flat=True)) if user.pk else frozenset()
        cached = (generation, names)
        user._attest_group_names = cached
    return cached[1]


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


def may_grant_approve(user) -> bool:
    """Who assigns approvers: registry admins and Compliance, never a model's managers."""
    return (
        user.is_authenticated
        and not is_auditor(user)
        and (is_registry_admin(user) or has_role(user, ROLE_COMPLIANCE))
    )


def codename(action: str, model_cls) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return f"{action}_{model_cls._meta.model_name}"


def _codenames_granting(action: str, model_cls) -> list[str]:
    # Any grant lets its holder see the object; writes need their own grant.
    actions = ACTIONS if action == "view" else (action,)
    return [codename(a, model_cls) for a in actions]


def _model_wide(user, guarded, codenames) -> bool:
    """A registry-wide grant: superusers, registry admins, an explicit global permission."""
    app_label = guarded._meta.app_label
    return user.is_superuser or any(user.has_perm(f"{app_label}.{c}") for c in codenames)


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


@cache
def _guarded_of(model_cls):
    path = getattr(model_cls, "guarded_path", "")
    guarded = model_cls
    for part in filter(None, path.split("__")):
        guarded = guarded._meta.get_field(part).related_model
    return path, guarded


def _placeholders(n: int) -> str:
    return "(" + ", ".join(["%s"] * n) + ")"


class _GrantSQL:
    """guardian's direct grant tables of one guarded model, as SQL text: the subqueries
    of the permission filter (Granted) and of rights(). Only table and column names from
    the models' metadata are written into the text (S608 below); every value is a
    parameter. The aliases are names the ORM never generates (it uses table names and
    U0, V0, T1...), so a correlated subquery can name the outer row at any nesting."""

    def __init__(self, guarded, qn):
        def col(meta, name):
            return qn(meta.get_field(name).column)

        users = get_user_obj_perms_model(guarded)._meta
        groups = get_group_obj_perms_model(guarded)._meta
        groups_field = get_user_model()._meta.get_field("groups")
        member = groups_field.remote_field.through._meta
        perm, ctype = Permission._meta, ContentType._meta
        g, m, p, c = (qn(a) for a in ("attest_grant", "attest_member", "attest_perm", "attest_ct"))
        # (FROM, the condition on the user's id, the permission column, the object column)
        self.sources = (
            (
                f"{qn(users.db_table)} {g}",
                f"{g}.{col(users, 'user')} = %s",
                f"{g}.{col(users, 'permission')}",
                f"{g}.{col(users, 'content_object')}",
            ),
            (
                f"{qn(groups.db_table)} {g} INNER JOIN {qn(member.db_table)} {m} ON "
                f"({g}.{col(groups, 'group')} = {m}.{qn(groups_field.m2m_reverse_name())})",
                f"{m}.{qn(groups_field.m2m_column_name())} = %s",
                f"{g}.{col(groups, 'permission')}",
                f"{g}.{col(groups, 'content_object')}",
            ),
        )
        self.permission_join = (
            f"INNER JOIN {qn(perm.db_table)} {p} ON ({{}} = {p}.{col(perm, 'id')})"
        )
        self.codename = f"{p}.{col(perm, 'codename')}"
        self.permission_ids = (
            f"SELECT {p}.{col(perm, 'id')} FROM {qn(perm.db_table)} {p} "  # noqa: S608
            f"INNER JOIN {qn(ctype.db_table)} {c} "
            f"ON ({p}.{col(perm, 'content_type')} = {c}.{col(ctype, 'id')}) "
            f"WHERE ({self.codename} IN {{}} AND {c}.{col(ctype, 'app_label')} = %s "
            f"AND {c}.{col(ctype, 'model')} = %s)"
        )
        self.app_label, self.model_name = guarded._meta.app_label, guarded._meta.model_name

    def granted_ids(self, source, codenames, user_id) -> tuple[str, list]:
        """The ids of the objects `source` grants the user any of `codenames` on; the
        permission ids come from a subquery, so the grant table is read as index ranges
        (user or group, permission) with no per-row join."""
        tables, holder, permission, obj = source
        ids = self.permission_ids.format(_placeholders(len(codenames)))
        sql = f"SELECT {obj} FROM {tables} WHERE ({holder} AND {permission} IN ({ids}))"  # noqa: S608
        return sql, [user_id, *codenames, self.app_label, self.model_name]

    def granted_on(self, source, codenames, user_id, target, select="") -> tuple[str, list]:
        """The grants by `source` of any of `codenames` to the user on the object whose id
        is `target` (SQL: an outer column, or %s), looked up by index; selects the object
        id, or `select`."""
        tables, holder, permission, obj = source
        sql = (
            f"SELECT {select or obj} FROM {tables} {self.permission_join.format(permission)} "  # noqa: S608
            f"WHERE ({holder} AND {obj} = {target} "
            f"AND {self.codename} IN {_placeholders(len(codenames))})"
        )
        return sql, [user_id, *codenames]


_GRANT_SQL: dict = {}


def _grant_sql(guarded, connection) -> _GrantSQL:
    key = (guarded, connection.vendor)
    if key not in _GRANT_SQL:
        _GRANT_SQL[key] = _GrantSQL(guarded, connection.ops.quote_name)
    return _GRANT_SQL[key]


class Granted(models.Expression):
    """The permission filter of restrict(): `target IN (the user's grants) OR target IN
    (their groups' grants)`, where `target` is the guarded model's id as seen from the
    filtered model.

    The SQL is written here, not built from querysets: building and compiling the two
    subqueries through the ORM cost 1.5 to 4 ms of Python per restrict(), several times
    per page. It is the SQL the ORM would write for the same filter (the tests compare the
    rows with a queryset-built one), in two forms:

    - uncorrelated (the default): each grant table is read as index ranges (user or group,
      permission), the permission ids coming from a subquery;
    - correlated (restrict's `few_rows`): `... AND grant.object = outer.target`, so each
      row's own grants are looked up by index.

    On SQLite a sliced query gets `+target` on the left side, as ScanIn explains."""

    conditional = True

    def __init__(self, target, guarded, user_id, codenames, correlated=False):
        super().__init__(output_field=models.BooleanField())
        self.target = models.F(target) if isinstance(target, str) else target
        self.guarded = guarded
        self.user_id = user_id
        self.codenames = tuple(codenames)
        self.correlated = correlated

    def get_source_expressions(self):
        return [self.target]

    def set_source_expressions(self, exprs):
        (self.target,) = exprs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.target)
        grants = _grant_sql(self.guarded, connection)
        probe = f"+{lhs}" if connection.vendor == "sqlite" and compiler.query.is_sliced else lhs
        sql, params = [], []
        for source in grants.sources:
            if self.correlated:
                sub, sub_params = grants.granted_on(
                    source, self.codenames, self.user_id, f"({lhs})"
                )
                sub_params[1:1] = lhs_params  # the target comes after the user's id
            else:
                sub, sub_params = grants.granted_ids(source, self.codenames, self.user_id)
            sql.append(f"{probe} IN ({sub})")
            params += [*lhs_params, *sub_params]
        return f"({' OR '.join(sql)})", params


class ScanIn(In):
    """`lhs IN (subquery)`, written so that SQLite can page through a sort index.

    SQLite assumes an IN (subquery) yields about 25 rows, so when the left side is a row id
    it fetches every listed row and sorts them all, even to show 25 of 25,000. In a sliced
    (paged) query the left side is written `+lhs`, which SQLite cannot use to look rows
    up: it walks the index of the ORDER BY instead, tests each row against the list and
    stops at the end of the page. Counts and other unsliced queries keep the plain form, so
    they can start from the list, unless `probe_only` says another list in the query is
    the one to start from (a search filter under the permission filter: counting what the
    user may see and testing each against the matches costs what the user may see, not
    what matched).

    PostgreSQL plans from statistics, but turns `lhs IN (subquery)` into a join whenever it
    can, and for a page walked in sort order that join looks each row up in the list's
    source (an index probe per row, and for a search a TOASTed tsvector per row).
    `hashed=True` writes `(lhs IN (subquery)) IS TRUE`, which it cannot turn into a join:
    the list is read once into a hash table (as the permission filter's lists are) and
    each row is tested against it. That is cheaper unless the list is most of the table."""

    def __init__(self, lhs, rhs, *, probe_only: bool = False, hashed: bool = False):
        if isinstance(rhs, models.QuerySet):
            rhs = rhs.query  # as `field__in=queryset` does: its ordering is dropped
        super().__init__(lhs, rhs)
        self.probe_only = probe_only
        self.hashed = hashed

    def process_lhs(self, compiler, connection, lhs=None):
        sql, params = super().process_lhs(compiler, connection, lhs)
        if connection.vendor == "sqlite" and (self.probe_only or compiler.query.is_sliced):
            sql = f"+{sql}"
        return sql, params

    def as_sql(self, compiler, connection):
        sql, params = super().as_sql(compiler, connection)
        if self.hashed and connection.vendor == "postgresql":
            sql = f"({sql}) IS TRUE"
        return sql, params


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass


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


def _is_guarded(model_cls) -> bool:
    return getattr(model_cls, "guarded_path", None) == ""


def rights(user, obj) -> frozenset[str]:
    """Every action `user` may do on `obj`, an instance of the guarded model, from one
    query (its grants to the user and to their groups), remembered on the user object for
    the rest of the request until a grant or a group membership changes.

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
        app_label = model_cls._meta.app_label
        held |= {a for a in ACTIONS if user.has_perm(f"{app_label}.{codename(a, model_cls)}")}
    if not held:
        return frozenset()
    if is_auditor(user):
        return frozenset({"view"})  # auditors are read-only by construction
    if "approve" in held and not approve_counts(user):
        held = held - {"approve"}  # a stale approve grant still shows the model, decides nothing
    return frozenset(held | {"view"})


# Bumped whenever a grant row or a user's group membership changes in this process, so
# the rights remembered on a user object are read again after any change.
_generation = 0


def _grants_changed(**kwargs) -> None:
    global _generation
    _generation += 1


def _object_grants(user, obj) -> frozenset[str] | None:
    """The actions held on `obj` through object grants to `user` or their groups, or
    None if `obj` does not exist (one query; remembered on the user object)."""
    generation = _generation  # read before the query: a change during it invalidates
    memo = getattr(user, "_attest_rights", None)
    if memo is None or memo[0] != generation:
        memo = (generation, {})
        user._attest_rights = memo
    key = (obj._meta.label, obj.pk)
    if key not in memo[1]:
        memo[1][key] = _read_object_grants(user, obj)
    return memo[1][key]


def _read_object_grants(user, obj) -> frozenset[str] | None:
    model_cls = type(obj)
    _watch_grants(get_user_obj_perms_model(model_cls))
    _watch_grants(get_group_obj_perms_model(model_cls))
    connection = connections[router.db_for_read(model_cls)]
    sql, params = _rights_sql(model_cls, connection, user.pk, obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    by_codename = {codename(a, model_cls): a for a in ACTIONS}
    return frozenset(by_codename[c] for (c,) in rows if c in by_codename)


def _rights_sql(model_cls, connection, user_id, obj_id):
    """One statement: a marker row if the object exists, then the codenames of its grants
    to the user and to the user's groups."""
    grants = _grant_sql(model_cls, connection)
    qn = connection.ops.quote_name
    meta = model_cls._meta
    codenames = [codename(a, model_cls) for a in ACTIONS]
    sql = [f"SELECT '' FROM {qn(meta.db_table)} WHERE {qn(meta.pk.column)} = %s"]  # noqa: S608
    params = [obj_id]
    for source in grants.sources:
        sub, sub_params = grants.granted_on(
            source, codenames, user_id, "%s", select=grants.codename
        )
        sql.append(sub)
        params += [sub_params[0], obj_id, *sub_params[1:]]
    return " UNION ALL ".join(sql), params


_WATCHED: set = set()


def _watch_grants(model_cls) -> None:
    """Bump the generation when rows of this grant table are saved or deleted."""
    if model_cls in _WATCHED or model_cls._meta.abstract:
        return
    if not issubclass(model_cls, UserObjectPermissionBase | GroupObjectPermissionBase):
        return
    _WATCHED.add(model_cls)
    uid = f"attest-access-{model_cls._meta.label}"
    post_save.connect(_grants_changed, sender=model_cls, weak=False, dispatch_uid=uid)
    post_delete.connect(_grants_changed, sender=model_cls, weak=False, dispatch_uid=uid)


def _on_class_prepared(sender, **kwargs) -> None:
    _watch_grants(sender)


def _on_membership_changed(sender, **kwargs) -> None:
    if sender is get_user_model()._meta.get_field("groups").remote_field.through:
        _grants_changed()


class_prepared.connect(_on_class_prepared, dispatch_uid="attest-access-grant-tables")
m2m_changed.connect(_on_membership_changed, dispatch_uid="attest-access-memberships")
for _grant_model in (UserObjectPermission, GroupObjectPermission):
    _watch_grants(_grant_model)


def require(user, obj, action: str) -> None:
    """Raise PermissionDenied (403) unless `user` may do `action` on `obj`."""
    if not allows(user, obj, action):
        raise PermissionDenied(f"You do not have {action} permission on {obj}.")


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


# --- Rows that belong to a person rather than to a registered model ----------------------


class OwnedQuerySet(models.QuerySet):
    """`restrict(user, action)` for rows that have an owner rather than a model: the MLflow
    tracking record (experiments, runs, logged models, uploaded files). The model declares

    - `owner_field`: the foreign key to the user who created the row;
    - `linked_rows(user)`, a classmethod returning a `Q` of the rows linked to something
      `user` may view, written with `restrict()` on the linked model's queryset (`Exists`
      or `__in` subqueries), so the permission filter is the one every guarded row uses;
    - optionally `shared_rows()`, a `Q` of rows every signed-in user may use (MLflow's
      Default experiment).

    A row is visible to its owner, to anyone who may view what it is linked to, and, if
    shared, to everyone signed in; only its owner may write to it (or anyone, for a shared
    row). Auditors write nothing. No owner and no link: nobody, whatever model-wide view
    the user holds (that lifts the filter on the linked rows, not on unlinked ones).
    One query, no joins, so no duplicate rows. `few_rows` is accepted for `allows()`: the
    links are correlated subqueries already."""

    def restrict(self, user, action: str = "view", *, few_rows: bool = False):
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if action in WRITE_ACTIONS and is_auditor(user):
            return self.none()  # auditors are read-only by construction
        condition = models.Q(**{self.model.owner_field: user.pk})
        shared = getattr(self.model, "shared_rows", None)
        if shared is not None:
            condition |= shared()
        if action == "view":
            condition |= self.model.linked_rows(user)
        return self.filter(condition)


class OwnedManager(models.Manager.from_queryset(OwnedQuerySet)):
    pass
