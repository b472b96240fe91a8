"""What a report covers: one version, or a period narrowed by team, model or risk class.

The scope is stored on the Report row as JSON (names and ISO dates, readable in the list)
and resolved again in the worker under the requester's permissions, so a model the
requester can no longer see fails the report instead of leaking into it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from registry.models import ModelVersion, RegisteredModel


class ScopeError(Exception):
    """The scope names something the requester cannot see (any more)."""


@dataclass
class ReportScope:
    model: RegisteredModel | None = None
    version: ModelVersion | None = None
    period_start: date | None = None  # inclusive
    period_end: date | None = None  # inclusive
    team: Group | None = None
    risk_class: str = ""

    def period_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start of period_start, start of the day after period_end) in the current zone."""
        zone = timezone.get_current_timezone()
        start = end = None
        if self.period_start:
            start = datetime.combine(self.period_start, time.min, tzinfo=zone)
        if self.period_end:
            end = datetime.combine(self.period_end + timedelta(days=1), time.min, tzinfo=zone)
        return start, end

    def as_json(self) -> dict:
        data = {}
        if self.model:
            data["model"] = self.model.name
        if self.version:
            data["version"] = self.version.version
        if self.period_start:
            data["period_start"] = self.period_start.isoformat()
        if self.period_end:
            data["period_end"] = self.period_end.isoformat()
        if self.team:
            data["team"] = self.team.name
        if self.risk_class:
            data["risk_class"] = self.risk_class
        return data

    def describe(self) -> str:
        return describe(self.as_json())


def describe(scope: dict) -> str:
    """One line for lists and titles: "fraud-detector v3", "2026-01-01 to 2026-03-31, team risk"."""
    parts = []
    if scope.get("model"):
        parts.append(
            f"{scope['model']} v{scope['version']}" if scope.get("version") else scope["model"]
        )
    start, end = scope.get("period_start"), scope.get("period_end")
    if start or end:
        parts.append(f"{start or 'the beginning'} to {end or 'now'}")
    if scope.get("team"):
        parts.append(f"team {scope['team']}")
    if scope.get("risk_class"):
        parts.append(f"risk class {scope['risk_class']}")
    return ", ".join(parts) or "everything you can see"


def visible_model(user, name: str) -> RegisteredModel | None:
    """The model of that name if `user` may view it (a hidden one looks like none)."""
    return RegisteredModel.objects.restrict(user, "view", few_rows=True).filter(name=name).first()


def version_of(model: RegisteredModel, number: int) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(registered_model=model, version=number)
        .select_related("registered_model")
        .first()
    )


def resolve(user, data: dict) -> ReportScope:
    """The stored scope as objects, each looked up through `restrict(user, 'view')`."""
    scope = ReportScope(risk_class=data.get("risk_class", ""))
    if data.get("model"):
        scope.model = visible_model(user, data["model"])
        if scope.model is None:
            raise ScopeError(f"Model {data['model']} is not visible to {user.get_username()}.")
        if data.get("version"):
            scope.version = version_of(scope.model, data["version"])
            if scope.version is None:
                raise ScopeError(f"{data['model']} has no version {data['version']}.")
    if data.get("team"):
        scope.team = Group.objects.filter(name=data["team"]).first()
        if scope.team is None:
            raise ScopeError(f"There is no team {data['team']}.")
    for key in ("period_start", "period_end"):
        if data.get(key):
            setattr(scope, key, date.fromisoformat(data[key]))
    return scope
