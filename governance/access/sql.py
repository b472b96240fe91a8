"""The permission filter's SQL, written by hand: guardian's grant tables of the guarded
model as text, compiled once per (model, database vendor) and reused by every query.

`Granted` is the expression restrict() filters with; `rights_sql` is rights()' one
statement; `ScanIn` is the `IN (subquery)` the list pages page through. Building and
compiling the same subqueries through the ORM cost 1.5 to 4 ms of Python per restrict(),
several times per page; the tests compare the rows with a queryset-built filter
(tests/governance/test_access_rights.py).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.lookups import In
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from governance.access.roles import ACTIONS, codename


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


def rights_sql(model_cls, connection, user_id, obj_id):
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
