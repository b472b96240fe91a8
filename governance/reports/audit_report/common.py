"""The audit report's constants, table columns, the period, how gates, policies and
decisions are worded, and the builder's shared state (`BuilderBase`)."""

from collections.abc import Iterable, Iterator
from datetime import datetime

from governance.models import Decision, TransitionRequest
from governance.reports.inventory import narrowed_models
from governance.selectors import gate_summary

KIND = "audit_report"
BATCH_SIZE = 500

CSV_COLUMNS = ["section", "occurred_at", "model", "version", "action", "actor", "outcome", "detail"]

ROLLBACK = "version.emergency_rollback"
GRANT_ACTIONS = ("grant.assign", "grant.revoke")
DOWNLOAD_ACTIONS = ("artifact.download", "compliance.download", "report.download", "audit.export")
DOWNLOAD_LABELS = {
    "artifact.download": "Artifact",
    "compliance.download": "Compliance document",
    "report.download": "Report",
    "audit.export": "Audit trail export",
}

REQUEST_COLUMNS = [
    "Request",
    "Model",
    "Version",
    "Target stage",
    "Requested by",
    "Opened",
    "Justification",
    "Policy",
    "Gates",
    "Status",
    "Decided",
]
DECISION_COLUMNS = [
    "Request",
    "Model",
    "Version",
    "Approver",
    "Approver groups",
    "Outcome",
    "Reason",
    "Decided at",
]
ROLLBACK_COLUMNS = [
    "Time",
    "Model",
    "Rolled back from",
    "Restored",
    "Archived",
    "By",
    "Reason",
    "Post-hoc review",
]
REVIEW_COLUMNS = [
    "Review",
    "Model",
    "Version restored",
    "Opened by",
    "Opened",
    "Justification",
    "Status",
    "Decided",
    "Decisions",
]
PRODUCTION_COLUMNS = [
    "Model",
    "Version",
    "Risk class",
    "First approved for Production",
    "Approving request",
    "Approvals",
    "Card completeness",
    "Artifact scans",
    "Hashed artifacts",
]
LATE_COLUMNS = [
    "Request",
    "Model",
    "Version",
    "Target stage",
    "Kind",
    "Opened",
    "SLA (hours)",
    "Due",
    "Status",
    "Decided",
    "Hours past due",
]
GRANT_COLUMNS = ["Time", "Model", "Change", "Permission", "Subject", "By"]
DOWNLOAD_COLUMNS = ["Time", "What", "Model", "Version", "File", "SHA-256", "By", "From"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def in_chunks(iterable: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Period:
    def __init__(self, start: datetime | None, end: datetime | None):
        self.start, self.end = start, end

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment < self.end
        )

    def events(self, queryset):
        if self.start is not None:
            queryset = queryset.filter(occurred_at__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(occurred_at__lt=self.end)
        return queryset


# --- Gates and policies as recorded --------------------------------------------------------


def policy_text(policy: dict) -> str:
    needed = policy.get("required_approvals", 1)
    text = f"{policy.get('policy', 'policy')}: {needed} approval{'' if needed == 1 else 's'}"
    groups = policy.get("required_groups") or []
    if groups:
        text += f" (one from each of {', '.join(groups)})"
    return text + f"; SLA {policy.get('sla_hours', 72)} h"


def gates_required(policy: dict) -> list[str]:
    """The gates the request's policy snapshot holds it to (policy.evaluate_gates)."""
    names = ["Artifacts hashed", "Artifacts scanned clean"]
    metrics = policy.get("required_metrics") or []
    if metrics:
        names.append(f"Required metrics present ({', '.join(metrics)})")
    if policy.get("require_risk_class", True):
        names.append("Risk class set")
    if policy.get("require_model_card"):
        names.append("Model card complete")
    if policy.get("required_annex_iv_items"):
        names.append(f"Annex IV items present ({', '.join(policy['required_annex_iv_items'])})")
    return names


def gates_text(request: TransitionRequest) -> str:
    """What is on record about the gates: the normal path refuses to open a request (and
    to apply an approval) unless every gate of the snapshot passes; the post-hoc review
    of a rollback has none. Then the gates evaluated on the version as it is now."""
    if request.kind == TransitionRequest.Kind.POST_HOC:
        recorded = "none: post-hoc review of a rollback already carried out"
    else:
        when = "when opened"
        if request.status == TransitionRequest.Status.APPROVED:
            when += " and re-checked when approved"
        recorded = f"{', '.join(gates_required(request.policy))}: passed {when}"
    summary = gate_summary(request)
    if summary["passed"]:
        now = f"{summary['total']} of {summary['total']} pass"
    else:
        failing = "; ".join(f"{g.name} ({g.reason})" for g in summary["failing"])
        now = f"failing {failing}"
    return f"{recorded}. Now: {now}."


def decision_text(decision: Decision) -> str:
    return (
        f"{decision.approver_username} {decision.get_outcome_display().lower()} "
        f"{decision.created_at:%Y-%m-%d %H:%M}: {decision.reason}"
    )


class BuilderBase:
    """What every section's walk shares: the requester, the scope and period, the models
    in scope, the CSV rows, the counts for the cover and the post-hoc reviews' status."""

    def __init__(self, *, user, scope, progress, now):
        self.user, self.scope, self.progress, self.now = user, scope, progress, now
        self.period = _Period(*scope.period_bounds())
        self.models = narrowed_models(user, scope)
        self.narrowed = bool(scope.model or scope.team or scope.risk_class)
        self.csv: list[list] = []
        self.counts: dict[str, int] = {}
        self.review_status: dict[int, str] = {}

    def fact_row(self, section, occurred_at, model, version, action, actor, outcome, detail):
        self.csv.append(
            [
                section,
                _iso(occurred_at),
                model,
                version,
                action,
                actor,
                outcome,
                detail,
            ]
        )
