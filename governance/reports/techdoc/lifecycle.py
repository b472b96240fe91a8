"""Annex IV point 6: the changes through the lifecycle (versions, requests, decisions, stage
changes).
"""

from governance.models import AuditEvent, Decision, TransitionRequest
from governance.reports.document import Document
from governance.reports.techdoc.common import (
    ACTION_LABELS,
    STAGE_CHANGE_ACTIONS,
    iso_time,
    stage_label,
    username,
)
from registry.models import Stage

# --- 6. Changes through the lifecycle ------------------------------------------------------


def _lifecycle_changes(doc: Document, ctx: dict) -> None:
    user, model = ctx["user"], ctx["model"]
    section = doc.section(
        "lifecycle_changes",
        "Changes through the lifecycle",
        intro="Annex IV point 6: every version of the model, every requested and approved "
        "stage change with its approvers, time and reason.",
    )
    history = section.item(
        "version_history",
        "Versions",
        source="the model's versions (registry)",
        fill="Register the version in Attest.",
    )
    history.table(
        ["Version", "Created", "Created by", "Stage now", "Approved for Production", "Description"],
        [
            [
                v.version,
                iso_time(v.created_at),
                username(v.created_by),
                stage_label(v.stage),
                iso_time(v.production_approved_at),
                (v.description or "").strip().split("\n", 1)[0][:200],
            ]
            for v in ctx["versions"]
        ],
    )

    requests = (
        TransitionRequest.objects.restrict(user, "view", few_rows=True)
        .filter(model_version__registered_model_id=model.pk)
        .select_related("model_version", "requested_by")
        .order_by("created_at", "pk")
    )
    section.item(
        "transition_requests",
        "Stage change requests",
        source="transition requests of the model",
        fill="Nothing to fill: requests are listed as they are opened on the version page.",
    ).table(
        [
            "Request",
            "Version",
            "Target stage",
            "Requested by",
            "Opened",
            "Status",
            "Closed",
            "Justification",
        ],
        [
            [
                r.pk,
                r.model_version.version,
                r.target_stage
                + (" (post-hoc review)" if r.kind == TransitionRequest.Kind.POST_HOC else ""),
                username(r.requested_by),
                iso_time(r.created_at),
                r.get_status_display(),
                iso_time(r.decided_at),
                r.justification,
            ]
            for r in requests
        ],
        empty="No stage change has been requested for this model.",
    )

    decisions = (
        Decision.objects.restrict(user, "view", few_rows=True)
        .filter(request__model_version__registered_model_id=model.pk)
        .select_related("request__model_version")
        .order_by("created_at", "pk")
    )
    section.item(
        "decisions",
        "Approvals and rejections",
        source="decisions on the model's transition requests",
        fill="Nothing to fill: approvers' decisions are listed as they are recorded.",
    ).table(
        [
            "Request",
            "Version",
            "Target stage",
            "Approver",
            "Approver's groups",
            "Decision",
            "Decided at",
            "Reason",
        ],
        [
            [
                d.request_id,
                d.request.model_version.version,
                d.request.target_stage,
                d.approver_username,
                ", ".join(d.approver_groups or []),
                d.get_outcome_display(),
                iso_time(d.created_at),
                d.reason,
            ]
            for d in decisions
        ],
        empty="No approver has decided on a request of this model.",
    )

    events = AuditEvent.objects.filter(
        registered_model_id=model.pk, action__in=STAGE_CHANGE_ACTIONS
    ).order_by("id")
    rows = [row for row in (_stage_change_row(e) for e in events) if row is not None]
    section.item(
        "stage_changes",
        "Stage changes",
        source="audit trail: transition.approve, version.archive, version.emergency_rollback",
        fill="Nothing to fill: stage changes are listed from the audit trail.",
    ).table(
        ["When", "By", "Change", "Version", "From", "To", "Archived on the way", "Reason"],
        rows,
        empty="No version of this model has changed stage.",
    )


def _stage_change_row(event) -> list | None:
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    who = event.actor_username or "system"
    label = ACTION_LABELS.get(event.action, event.action)
    if event.action == "transition.approve":
        moved = after.get("stage_change") or {}
        if not moved:
            return None  # an approval that did not (yet) complete the policy
        archived = moved.get("archived") or []
        return [
            iso_time(event.occurred_at),
            who,
            label,
            moved.get("version"),
            stage_label(moved.get("from")),
            stage_label(moved.get("to")),
            ", ".join(f"v{n}" for n in archived),
            after.get("reason"),
        ]
    if event.action == "version.archive":
        return [
            iso_time(event.occurred_at),
            who,
            label,
            after.get("version"),
            stage_label(before.get("stage")),
            Stage.ARCHIVED.value,
            "",
            after.get("reason"),
        ]
    archived = after.get("archived") or []
    return [
        iso_time(event.occurred_at),
        who,
        label,
        after.get("production"),
        f"v{before.get('production')} was in Production",
        Stage.PRODUCTION.value,
        ", ".join(f"v{n}" for n in archived),
        after.get("reason"),
    ]
