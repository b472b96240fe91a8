"""Reading the audit trail: who may see which events, the log's filters, keyset pages and
the before/after diff. The audit log page, the per-model history and the exports all
read through here.

Who sees what (deny by default, like every other read):

- The audit log is for auditors and registry admins; everyone else gets nothing (the
  view answers 403).
- Someone who may see every registered model (superusers, and the Auditors and Registry
  admins groups with their registry-wide view) sees every event, including events that
  concern no model (sign-ins, admin changes, exports) and events of models since deleted.
- An auditor whose registry-wide view was taken away sees only the events of the models
  they were granted (`registered_model_id IN restrict(user, 'view')`). Events with no
  model are not theirs to see: they describe people and settings outside their scope.
- A registry admin without registry-wide view still sees events with no model (they
  administer the users and settings those events describe) but only the model events of
  models they can see.
- The per-model history is for anyone who can view the model (404 otherwise): the
  events carrying that model's id.
"""

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django import forms
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from governance import access
from governance.models import AuditEvent
from registry.models import ModelVersion, RegisteredModel

# Known actions and what they mean, for the action filter. Actions recorded by code that
# is not listed here still appear in the filter (the list of distinct actions is read
# from the table) with their raw name.
ACTION_LABELS = {
    "admin.": "Admin changes (any)",
    "alias.": "Aliases (any)",
    "alias.set": "Alias set",
    "alias.move": "Alias moved (followed Production)",
    "alias.delete": "Alias removed",
    "artifact.": "Artifacts (any)",
    "artifact.download": "Artifact downloaded",
    "artifact.scan": "Artifact scanned",
    "audit.": "Audit trail (any)",
    "audit.export": "Audit trail exported",
    "auth.": "Sign-in and accounts (any)",
    "auth.login": "Signed in",
    "auth.logout": "Signed out",
    "auth.login_failed": "Sign-ins failed (batch)",
    "auth.lockout": "Sign-in locked out",
    "auth.unlock": "Sign-in unlocked",
    "auth.password_change": "Password changed",
    "compliance.": "Compliance documents (any)",
    "compliance.upload": "Compliance document uploaded",
    "compliance.download": "Compliance document downloaded",
    "grant.": "Grants (any)",
    "grant.assign": "Permission granted",
    "grant.revoke": "Permission revoked",
    "model.": "Models (any)",
    "model.create": "Model registered",
    "model.update": "Model edited",
    "model.risk_class": "Risk class set",
    "risk_class.": "Risk-class change requests (any)",
    "risk_class.request": "Risk-class change requested",
    "risk_class.approve": "Risk-class change approved",
    "risk_class.reject": "Risk-class change rejected",
    "risk_class.withdraw": "Risk-class change withdrawn",
    "transition.": "Transition requests (any)",
    "transition.request": "Transition requested",
    "transition.approve": "Transition approved",
    "transition.reject": "Transition rejected",
    "transition.withdraw": "Transition withdrawn",
    "transition.comment": "Comment on a request",
    "version.": "Versions (any)",
    "version.create": "Version uploaded",
    "version.archive": "Version archived",
    "version.emergency_rollback": "Emergency rollback",
}


def sees_every_model(user) -> bool:
    """Whether `restrict(user, "view")` lifts its filter on registered models: a
    registry-wide grant (asked of restrict() itself, not copied from it)."""
    return RegisteredModel.objects.sees_all(user, "view")


def can_read_audit_log(user) -> bool:
    return user.is_authenticated and (access.is_auditor(user) or access.is_registry_admin(user))


def events_visible(user):
    """Audit events `user` may read in the audit log (see the module docstring)."""
    if not can_read_audit_log(user) or not user.is_active:
        return AuditEvent.objects.none()
    if sees_every_model(user):
        return AuditEvent.objects.all()
    models = RegisteredModel.objects.restrict(user, "view").values("pk")
    scope = Q(registered_model_id__in=models)
    if access.is_registry_admin(user):
        scope |= Q(registered_model_id__isnull=True)
    return AuditEvent.objects.filter(scope)


def model_events(model):
    """Every event of one registered model (the caller has checked the model is visible)."""
    return AuditEvent.objects.filter(registered_model_id=model.pk)


def distinct_actions() -> list[str]:
    """Every action in the table, in one query that skips through the action index
    (a loose index scan: one index seek per distinct action, not a scan of the table)."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = (
        "WITH RECURSIVE acts(action) AS ("  # noqa: S608 (only our own table name)
        f" SELECT MIN(action) FROM {table}"
        " UNION ALL"
        f" SELECT (SELECT MIN(e.action) FROM {table} e WHERE e.action > acts.action)"
        " FROM acts WHERE acts.action IS NOT NULL"
        ") SELECT action FROM acts WHERE action IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def action_choices(present: list[str]) -> list[tuple[str, str]]:
    """Options for the action select: each family ("transition." = any transition event)
    followed by its actions, known ones labelled."""
    names = set(present) | {a for a in ACTION_LABELS if not a.endswith(".")}
    families = {a.split(".", 1)[0] + "." for a in names if "." in a}
    families |= {a for a in ACTION_LABELS if a.endswith(".")}
    choices = [("", "Any action")]
    for family in sorted(families):
        choices.append((family, ACTION_LABELS.get(family, f"{family}* (any)")))
        for name in sorted(n for n in names if n.startswith(family)):
            label = ACTION_LABELS.get(name)
            choices.append((name, f"— {label} ({name})" if label else f"— {name}"))
    for name in sorted(n for n in names if "." not in n):
        choices.append((name, name))
    return choices


class AuditFilterForm(forms.Form):
    """The audit log's filters. All optional; an invalid value shows an error on its field
    and the filter is left out rather than guessed."""

    actor = forms.CharField(required=False, max_length=150, label="Actor")
    action = forms.CharField(required=False, max_length=64, label="Action")
    model = forms.CharField(required=False, max_length=255, label="Model")
    version = forms.IntegerField(required=False, min_value=1, label="Version")
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")
    request = forms.CharField(required=False, max_length=128, label="Request id")

    FIELDS = ("actor", "action", "model", "version", "date_from", "date_to", "request")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> dict:
        """The valid, non-empty filters (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return {k: data[k] for k in self.FIELDS if data.get(k) not in (None, "")}


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def apply_filters(queryset, filters: dict):
    """Narrow an event queryset by the form's filters."""
    if filters.get("actor"):
        queryset = queryset.filter(actor_username=filters["actor"].strip())
    action = (filters.get("action") or "").strip()
    if action.endswith("."):
        # "transition." means every action in that family. PostgreSQL answers the prefix
        # from the pattern index Django adds to indexed text columns; SQLite's LIKE cannot
        # use an index, so there the same rows are also bounded by a range on the action
        # index (binary collation: '/' sorts right after '.').
        queryset = queryset.filter(action__startswith=action)
        if connection.vendor == "sqlite":
            queryset = queryset.filter(action__gte=action, action__lt=action[:-1] + "/")
    elif action:
        queryset = queryset.filter(action=action)
    model_name = (filters.get("model") or "").strip()
    if model_name:
        models = RegisteredModel.objects.filter(name__iexact=model_name).values("pk")
        queryset = queryset.filter(registered_model_id__in=models)
    if filters.get("version"):
        versions = ModelVersion.objects.filter(version=filters["version"])
        if model_name:
            versions = versions.filter(registered_model__name__iexact=model_name)
        queryset = queryset.filter(model_version_id__in=versions.values("pk"))
    if filters.get("request"):
        queryset = queryset.filter(request_id=filters["request"].strip())
    if filters.get("date_from"):
        queryset = queryset.filter(occurred_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        queryset = queryset.filter(occurred_at__lt=_day_start(filters["date_to"] + timedelta(1)))
    return queryset


# --- Keyset pages: newest first, no COUNT(*) over the table --------------------------------


@dataclass
class EventPage:
    events: list
    has_next: bool  # older events exist
    has_previous: bool  # newer events exist
    first_id: int | None
    last_id: int | None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _cursor(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def keyset_page(queryset, *, before=None, after=None, size: int = 50) -> EventPage:
    """One page of events, newest first, by id: `before=<id>` is the next (older) page,
    `after=<id>` the previous (newer) one. Two queries at most, each a walk down the
    primary key from the cursor that stops after `size + 1` rows; no count."""
    before, after = _cursor(before), _cursor(after)
    if after is not None and before is None:
        rows = list(queryset.filter(id__gt=after).order_by("id")[: size + 1])
        has_previous = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        has_next = bool(rows) and queryset.filter(id__lt=rows[-1].id).exists()
    else:
        scoped = queryset.filter(id__lt=before) if before is not None else queryset
        rows = list(scoped.order_by("-id")[: size + 1])
        has_next = len(rows) > size
        rows = rows[:size]
        has_previous = (
            before is not None and bool(rows) and queryset.filter(id__gt=rows[0].id).exists()
        )
    return EventPage(
        events=rows,
        has_next=has_next,
        has_previous=has_previous,
        first_id=rows[0].id if rows else None,
        last_id=rows[-1].id if rows else None,
    )


# --- Before/after, readable ------------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class DiffRow:
    key: str
    old: str | None  # None: the key was not there before
    new: str | None  # None: the key is not there after
    status: str  # changed, added, removed, same

    @property
    def changed(self) -> bool:
        return self.status != "same"


def compact(value) -> str:
    """A snapshot value as people read it: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _row(key, old, new) -> DiffRow:
    if old is _MISSING:
        return DiffRow(key, None, compact(new), "added")
    if new is _MISSING:
        return DiffRow(key, compact(old), None, "removed")
    status = "same" if old == new else "changed"
    return DiffRow(key, compact(old), compact(new), status)


def snapshot_diff(before, after) -> list[DiffRow]:
    """Key by key for dict snapshots (old, new, and whether it changed); one row for any
    other shape. Keys keep the order they were recorded in, new keys last."""
    if before is None and after is None:
        return []
    if isinstance(before, dict | None) and isinstance(after, dict | None):
        before, after = before or {}, after or {}
        keys = list(before) + [k for k in after if k not in before]
        return [_row(k, before.get(k, _MISSING), after.get(k, _MISSING)) for k in keys]
    old = _MISSING if before is None else before
    new = _MISSING if after is None else after
    return [_row("value", old, new)]


def decorate(events, *, model_names: bool = True) -> list:
    """Attach what the table shows to each event of a page: its diff and the name of its
    model (one query for the whole page, whatever its size)."""
    names = {}
    if model_names:
        ids = {e.registered_model_id for e in events if e.registered_model_id}
        if ids:
            names = dict(RegisteredModel.objects.filter(pk__in=ids).values_list("pk", "name"))
    for event in events:
        event.diff = snapshot_diff(event.before, event.after)
        event.model_name = names.get(event.registered_model_id, "")
        event.action_label = ACTION_LABELS.get(event.action, "")
        event.context_json = compact(event.context) if event.context else ""
    return events
