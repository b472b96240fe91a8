"""A version's story, from the audit trail, as sentences people read: uploaded, requested,
approved or rejected (with the reason), moved between stages, aliased, downloaded,
commented on, scanned.

Two queries, whatever the history: the version's own events (`model_version_id`), and the
model's approvals and rollbacks, which name the versions they archived on the way.
"""

from dataclasses import dataclass, field
from datetime import datetime

from governance.models import AuditEvent

TIMELINE_LIMIT = 200
# Events of another version that can archive this one (they list it in "archived").
_ARCHIVING_ACTIONS = ("transition.approve", "version.emergency_rollback")


@dataclass
class TimelineEntry:
    occurred_at: datetime
    actor: str
    kind: str  # upload, request, approve, reject, withdraw, comment, stage, alias, download,
    # scan, other: for the marker's style
    sentence: str
    quote: str = ""  # a reason, justification or comment, in the person's own words
    event_id: int | None = None
    action: str = ""

    @property
    def text(self) -> str:
        return f"{self.sentence}: “{self.quote}”" if self.quote else self.sentence


@dataclass
class Timeline:
    entries: list[TimelineEntry] = field(default_factory=list)
    truncated: bool = False  # only the newest TIMELINE_LIMIT events are shown


def _after(event) -> dict:
    return event.after if isinstance(event.after, dict) else {}


def _before(event) -> dict:
    return event.before if isinstance(event.before, dict) else {}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def stage_name(stage) -> str:
    """A stage as a sentence reads it: the stage called "None" is "no stage" (the timeline
    read "v3 moved from None to Production", issue #19 item 6)."""
    return "no stage" if stage in (None, "", "None") else str(stage)


def _stage_sentence(moved: dict) -> str:
    text = (
        f"v{moved.get('version')} moved from {stage_name(moved.get('from'))}"
        f" to {stage_name(moved.get('to'))}"
    )
    archived = moved.get("archived") or []
    if archived:
        text += "; " + ", ".join(f"v{n}" for n in archived) + " archived"
    return text


def _entries_for_own_event(event, version_number: int) -> list[TimelineEntry]:
    who = event.actor_username or "system"
    a, b = _after(event), _before(event)
    stage = a.get("target_stage", "")

    def entry(kind, sentence, quote=""):
        return TimelineEntry(
            event.occurred_at, who, kind, sentence, quote or "", event.id, event.action
        )

    match event.action:
        case "version.create":
            files = len(a.get("artifacts") or [])
            metrics = len(a.get("metrics") or [])
            return [
                entry(
                    "upload",
                    f"{who} uploaded v{version_number} "
                    f"({_plural(files, 'file')}, {_plural(metrics, 'metric')})",
                )
            ]
        case "transition.request":
            return [entry("request", f"{who} requested a move to {stage}", a.get("justification"))]
        case "transition.approve":
            entries = [entry("approve", f"{who} approved the move to {stage}", a.get("reason"))]
            moved = a.get("stage_change") or {}
            if moved:
                entries.append(entry("stage", _stage_sentence(moved)))
            return entries
        case "transition.reject":
            return [entry("reject", f"{who} rejected the move to {stage}", a.get("reason"))]
        case "transition.withdraw":
            return [entry("withdraw", f"{who} withdrew the request to move to {stage}")]
        case "transition.comment":
            sentence = f"{who} commented on the request to move to {stage}"
            return [entry("comment", sentence, a.get("body"))]
        case "version.archive":
            sentence = f"{who} archived v{version_number} (it was in {b.get('stage')})"
            return [entry("stage", sentence, a.get("reason"))]
        case "version.emergency_rollback":
            return [
                entry(
                    "stage",
                    f"{who} rolled Production back from v{b.get('production')} to "
                    f"v{a.get('production')} in an emergency",
                    a.get("reason"),
                )
            ]
        case "alias.set":
            was = f" (it was on v{b['version']})" if b.get("version") is not None else ""
            return [entry("alias", f"{who} pointed @{a.get('alias')} at v{a.get('version')}{was}")]
        case "alias.move":
            return [
                entry(
                    "alias",
                    f"@{a.get('alias')} followed Production from v{b.get('version')} to "
                    f"v{a.get('version')} ({who}: {a.get('why')})",
                )
            ]
        case "alias.delete":
            why = f" ({a['why']})" if a.get("why") else ""
            return [
                entry("alias", f"{who} removed @{b.get('alias')} from v{b.get('version')}{why}")
            ]
        case "artifact.download":
            path = a.get("path") or event.target_repr
            return [entry("download", f"{who} downloaded {path}")]
        case "artifact.scan":
            path = event.target_repr.split(" ", 2)[-1] if event.target_repr else "an artifact"
            findings = a.get("scan_findings") or []
            found = f" ({_plural(len(findings), 'finding')})" if findings else ""
            return [entry("scan", f"The scanner marked {path} {a.get('scan_status')}{found}")]
    return [entry("other", f"{who}: {event.action} {event.target_repr}".strip())]


def _archived_by(event, version_number: int) -> list[TimelineEntry]:
    """This version archived by another version's approval or rollback."""
    who = event.actor_username or "system"
    a = _after(event)
    if event.action == "transition.approve":
        moved = a.get("stage_change") or {}
        if version_number in (moved.get("archived") or []):
            sentence = (
                f"v{version_number} archived: {who} approved v{moved.get('version')} "
                f"for {moved.get('to')}"
            )
            return [TimelineEntry(event.occurred_at, who, "stage", sentence, "", event.id, "")]
    elif event.action == "version.emergency_rollback" and version_number in (
        a.get("archived") or []
    ):
        sentence = (
            f"v{version_number} archived: {who} rolled Production back to "
            f"v{a.get('production')} in an emergency"
        )
        reason = a.get("reason") or ""
        return [TimelineEntry(event.occurred_at, who, "stage", sentence, reason, event.id, "")]
    return []


_FIELDS = (
    "id",
    "occurred_at",
    "actor_username",
    "action",
    "target_repr",
    "model_version_id",
    "before",
    "after",
)


def version_timeline(version, *, limit: int = TIMELINE_LIMIT) -> Timeline:
    """The version's events, oldest first, as sentences. Two queries, whatever the history:
    the version's own newest `limit` events, and the model's later approvals and rollbacks
    (few: one per promotion), which say which versions they archived."""
    own = list(
        AuditEvent.objects.filter(model_version_id=version.pk)
        .only(*_FIELDS)
        .order_by("-id")[: limit + 1]
    )
    truncated = len(own) > limit
    own = own[:limit]
    others = (
        AuditEvent.objects.filter(
            registered_model_id=version.registered_model_id,
            action__in=_ARCHIVING_ACTIONS,
            occurred_at__gte=version.created_at,
        )
        .exclude(model_version_id=version.pk)
        .only(*_FIELDS)
    )
    if own and truncated:
        others = others.filter(id__gt=own[-1].id)
    events = sorted([*own, *others], key=lambda e: e.id)
    entries = []
    for event in events:
        if event.model_version_id == version.pk:
            entries.extend(_entries_for_own_event(event, version.version))
        else:
            entries.extend(_archived_by(event, version.version))
    return Timeline(entries=entries, truncated=truncated)
