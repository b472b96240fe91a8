"""The audit report: what happened in a period, for auditors and registry admins.

Sections, in order:

1. Stage transitions: every transition request opened, decided or acted on in the period,
   with its requester, justification, target stage, status, the policy and gates it was
   held to, and each decision (approver, outcome, reason, time).
2. Emergency actions: the emergency rollbacks in the period (audit events
   "version.emergency_rollback") and their post-hoc reviews (requests of kind post_hoc).
3. Models in Production at generation time and the evidence behind each version: the
   approving request and its decisions, the model card completeness, artifact scans and
   hashes.
4. Requests past their SLA (the policy snapshot's `sla_hours`) at some time in the period:
   still pending past it, or decided later.
5. Grant changes ("grant.assign", "grant.revoke").
6. Downloads ("artifact.download", "compliance.download", "report.download",
   "audit.export").
7. The audit chain verified at generation time (also a cover fact).

Rows come only from the requester's permission-filtered querysets: requests and versions
through `restrict(user, "view")`, audit events through `audit_log.events_visible(user)`,
each intersected with the period and the scope (model, team, risk class; with any of
these, events that concern no model are left out). Requests and events are each read
once, in batches. The CSV is one uniform table of every fact in the report.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q
from django.db.models.functions import Length

from governance import audit, audit_log, transparency
from governance.models import Decision, TransitionRequest
from governance.reports.document import Document
from governance.reports.inventory import (
    card_completeness_by_version,
    completeness_text,
    narrowed_models,
)
from governance.selectors import gate_summary
from registry.models import Artifact, ModelVersion, RegisteredModel, Stage

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


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
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


# --- The builder ---------------------------------------------------------------------------


class _Builder:
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

    # -- Requests: sections 1, 2 (reviews) and 4, in one pass --------------------------------

    def requests(self):
        """Requests open at some time in the period (created before its end, not decided
        before its start): those touched in it, and those that sat past their SLA in it."""
        qs = TransitionRequest.objects.restrict(self.user, "view")
        if self.narrowed:
            qs = qs.filter(model_version__registered_model_id__in=self.models.values("pk"))
        if self.period.end is not None:
            qs = qs.filter(created_at__lt=self.period.end)
        if self.period.start is not None:
            qs = qs.filter(Q(decided_at__isnull=True) | Q(decided_at__gte=self.period.start))
        decisions = Decision.objects.order_by("created_at", "pk")
        return (
            qs.select_related("model_version__registered_model", "requested_by")
            .prefetch_related(
                Prefetch("decisions", queryset=decisions),
                "model_version__artifacts",
                "model_version__metrics",
            )
            .order_by("created_at", "pk")
        )

    def touched(self, request, decisions) -> bool:
        return (
            self.period.contains(request.created_at)
            or self.period.contains(request.decided_at)
            or any(self.period.contains(d.created_at) for d in decisions)
        )

    def late(self, request) -> tuple[datetime, float] | None:
        """(due, hours past due) if the request sat past its SLA within the period."""
        due = request.created_at + timedelta(hours=request.policy.get("sla_hours", 72))
        horizon = min(self.now, self.period.end) if self.period.end else self.now
        if due >= horizon:
            return None
        if request.decided_at is not None:
            if request.decided_at <= due:
                return None
            if self.period.start is not None and request.decided_at < self.period.start:
                return None
        closed = request.decided_at or self.now
        return due, round((closed - due).total_seconds() / 3600, 1)

    def walk_requests(self, transitions, reviews, late_item):
        req_rows, decision_rows, review_rows, late_rows = [], [], [], []
        for request in self.requests().iterator(chunk_size=BATCH_SIZE):
            version = request.model_version
            model = version.registered_model.name
            requester = request.requested_by.get_username() if request.requested_by else None
            # Decisions up to the end of the period: the request's trail, nothing later.
            decisions = [
                d
                for d in request.decisions.all()
                if self.period.end is None or d.created_at < self.period.end
            ]
            if self.touched(request, decisions):
                if request.kind == TransitionRequest.Kind.POST_HOC:
                    self.review_status[request.pk] = request.get_status_display()
                    review_rows.append(
                        [
                            f"#{request.pk}",
                            model,
                            version.version,
                            requester,
                            request.created_at,
                            request.justification,
                            request.get_status_display(),
                            request.decided_at,
                            "; ".join(decision_text(d) for d in decisions) or None,
                        ]
                    )
                    self.fact_row(
                        "emergency",
                        request.created_at,
                        model,
                        version.version,
                        "post_hoc_review",
                        requester,
                        request.status,
                        f"review #{request.pk} to {request.target_stage}: {request.justification}",
                    )
                    section = "emergency"
                else:
                    req_rows.append(
                        [
                            f"#{request.pk}",
                            model,
                            version.version,
                            request.target_stage,
                            requester,
                            request.created_at,
                            request.justification,
                            policy_text(request.policy),
                            gates_text(request),
                            request.get_status_display(),
                            request.decided_at,
                        ]
                    )
                    self.fact_row(
                        "transitions",
                        request.created_at,
                        model,
                        version.version,
                        "transition.request",
                        requester,
                        request.status,
                        f"request #{request.pk} to {request.target_stage}: {request.justification}",
                    )
                    section = "transitions"
                    for d in decisions:
                        decision_rows.append(
                            [
                                f"#{request.pk}",
                                model,
                                version.version,
                                d.approver_username,
                                ", ".join(d.approver_groups or []) or None,
                                d.get_outcome_display(),
                                d.reason,
                                d.created_at,
                            ]
                        )
                for d in decisions:
                    self.fact_row(
                        section,
                        d.created_at,
                        model,
                        version.version,
                        f"transition.{d.outcome}",
                        d.approver_username,
                        d.get_outcome_display().lower(),
                        f"request #{request.pk} to {request.target_stage}: {d.reason}",
                    )
            overdue = self.late(request)
            if overdue is not None:
                due, hours = overdue
                sla = request.policy.get("sla_hours", 72)
                late_rows.append(
                    [
                        f"#{request.pk}",
                        model,
                        version.version,
                        request.target_stage,
                        request.get_kind_display(),
                        request.created_at,
                        sla,
                        due,
                        request.get_status_display(),
                        request.decided_at,
                        hours,
                    ]
                )
                self.fact_row(
                    "late_requests",
                    due,
                    model,
                    version.version,
                    "sla.overdue",
                    requester,
                    request.status,
                    f"request #{request.pk} to {request.target_stage}: SLA {sla} h, "
                    f"{hours} h past due",
                )
        transitions[0].table(
            REQUEST_COLUMNS, req_rows, empty="No transition requests in this period."
        )
        transitions[1].table(DECISION_COLUMNS, decision_rows, empty="No decisions in this period.")
        reviews.table(REVIEW_COLUMNS, review_rows, empty="No post-hoc reviews in this period.")
        late_item.table(LATE_COLUMNS, late_rows, empty="No request went past its SLA.")
        self.counts.update(
            requests=len(req_rows),
            decisions=len(decision_rows),
            reviews=len(review_rows),
            late=len(late_rows),
        )

    # -- Section 3: Production ---------------------------------------------------------------

    def walk_production(self, item):
        versions = ModelVersion.objects.restrict(self.user, "view").filter(stage=Stage.PRODUCTION)
        if self.narrowed:
            versions = versions.filter(registered_model_id__in=self.models.values("pk"))
        versions = versions.select_related("registered_model").order_by(
            "registered_model__name", "version"
        )
        rows = []
        for chunk in _chunks(versions.iterator(chunk_size=BATCH_SIZE), BATCH_SIZE):
            ids = [v.pk for v in chunk]
            approvals, reviews = {}, {}
            requests = (
                TransitionRequest.objects.filter(
                    model_version_id__in=ids, target_stage=Stage.PRODUCTION
                )
                .filter(
                    Q(kind=TransitionRequest.Kind.NORMAL, status=TransitionRequest.Status.APPROVED)
                    | Q(kind=TransitionRequest.Kind.POST_HOC)
                )
                .prefetch_related(
                    Prefetch("decisions", queryset=Decision.objects.order_by("created_at", "pk"))
                )
                .order_by("created_at", "pk")
            )
            for request in requests:  # the newest of each wins
                found = reviews if request.kind == TransitionRequest.Kind.POST_HOC else approvals
                found[request.model_version_id] = request
            cards = card_completeness_by_version(ids)
            scans: dict[int, dict[str, int]] = {}
            hashed: dict[int, int] = {}
            stats = (
                Artifact.objects.filter(model_version_id__in=ids)
                .alias(hash_length=Length("sha256"))
                .order_by()
                .values("model_version_id", "scan_status")
                .annotate(n=Count("pk"), hashed=Count("pk", filter=Q(hash_length=64)))
            )
            for s in stats:
                scans.setdefault(s["model_version_id"], {})[s["scan_status"]] = s["n"]
                hashed[s["model_version_id"]] = hashed.get(s["model_version_id"], 0) + s["hashed"]
            labels = dict(Artifact.ScanStatus.choices)
            for version in chunk:
                model = version.registered_model
                request = approvals.get(version.pk)
                decisions = list(request.decisions.all()) if request else []
                approvers = [
                    d.approver_username for d in decisions if d.outcome == Decision.Outcome.APPROVE
                ]
                review = reviews.get(version.pk)
                if review and request and review.created_at < request.decided_at:
                    review = None  # an older rollback: this approval came after it
                by_status = scans.get(version.pk, {})
                total = sum(by_status.values())
                scan_text = (
                    ", ".join(
                        f"{n} {labels.get(k, k).lower()}" for k, n in sorted(by_status.items())
                    )
                    or "no artifacts"
                )
                hash_text = f"{hashed.get(version.pk, 0)} of {total}"
                card = completeness_text(cards.get(version.pk))
                approving = "no approved request on record"
                if request is not None:
                    approving = f"#{request.pk}, decided {request.decided_at:%Y-%m-%d %H:%M}"
                approvals_text = "; ".join(decision_text(d) for d in decisions)
                if review is not None:
                    approving += (
                        f"; back in Production by an emergency rollback on "
                        f"{review.created_at:%Y-%m-%d %H:%M}, post-hoc review #{review.pk} "
                        f"({review.get_status_display().lower()})"
                    )
                    review_decisions = "; ".join(decision_text(d) for d in review.decisions.all())
                    if review_decisions:
                        approvals_text += f"{'; ' if approvals_text else ''}review #{review.pk}: "
                        approvals_text += review_decisions
                rows.append(
                    [
                        model.name,
                        version.version,
                        model.get_risk_class_display(),
                        version.production_approved_at,
                        approving,
                        approvals_text or None,
                        card,
                        scan_text,
                        hash_text,
                    ]
                )
                self.fact_row(
                    "production",
                    request.decided_at if request else version.production_approved_at,
                    model.name,
                    version.version,
                    "in_production",
                    ", ".join(approvers) or None,
                    card,
                    f"{approving}; artifacts: {scan_text}; hashed: {hash_text}",
                )
        item.table(PRODUCTION_COLUMNS, rows, empty="No model in this scope is in Production.")
        self.counts["production"] = len(rows)

    # -- Sections 2 (rollbacks), 5 and 6: the audit events, in one pass -----------------------

    def events(self):
        events = self.period.events(audit_log.events_visible(self.user))
        if self.narrowed:
            events = events.filter(registered_model_id__in=self.models.values("pk"))
        return events.filter(action__in=(ROLLBACK, *GRANT_ACTIONS, *DOWNLOAD_ACTIONS))

    def event_batches(self):
        """Keyset batches in id (chain) order; each batch with the names of its models and
        the numbers of its versions (two queries per batch)."""
        events = self.events()
        last_id = 0
        while True:
            batch = list(events.filter(id__gt=last_id).order_by("id")[:BATCH_SIZE])
            if not batch:
                return
            model_ids = {e.registered_model_id for e in batch if e.registered_model_id}
            version_ids = {e.model_version_id for e in batch if e.model_version_id}
            names = dict(RegisteredModel.objects.filter(pk__in=model_ids).values_list("pk", "name"))
            numbers = dict(
                ModelVersion.objects.filter(pk__in=version_ids).values_list("pk", "version")
            )
            yield batch, names, numbers
            if len(batch) < BATCH_SIZE:
                return
            last_id = batch[-1].id

    def walk_events(self, rollbacks, grants, downloads):
        rollback_rows, grant_rows, download_rows = [], [], []
        for batch, names, numbers in self.event_batches():
            for event in batch:
                after = event.after if isinstance(event.after, dict) else {}
                before = event.before if isinstance(event.before, dict) else {}
                model = names.get(event.registered_model_id) or after.get("model")
                version = numbers.get(event.model_version_id) or after.get("version")
                actor = event.actor_username or "system"
                if event.action == ROLLBACK:
                    review = after.get("review_request")
                    review_text = None
                    if review:
                        review_text = f"#{review}"
                        if review in self.review_status:
                            review_text += f" ({self.review_status[review].lower()})"
                    archived = ", ".join(f"v{n}" for n in after.get("archived") or []) or None
                    rollback_rows.append(
                        [
                            event.occurred_at,
                            model,
                            f"v{before.get('production')}",
                            f"v{after.get('production')}",
                            archived,
                            actor,
                            after.get("reason"),
                            review_text,
                        ]
                    )
                    self.fact_row(
                        "emergency",
                        event.occurred_at,
                        model,
                        after.get("production"),
                        event.action,
                        actor,
                        f"v{before.get('production')} -> v{after.get('production')}",
                        f"{after.get('reason')}; review {review_text or 'none'}",
                    )
                elif event.action in GRANT_ACTIONS:
                    change = after if event.action == "grant.assign" else before
                    verb = "granted" if event.action == "grant.assign" else "revoked"
                    grant_rows.append(
                        [
                            event.occurred_at,
                            model,
                            verb,
                            change.get("permission"),
                            change.get("to"),
                            actor,
                        ]
                    )
                    self.fact_row(
                        "grants",
                        event.occurred_at,
                        model,
                        None,
                        event.action,
                        actor,
                        verb,
                        f"{change.get('permission')} {'to' if verb == 'granted' else 'from'} "
                        f"{change.get('to')}",
                    )
                else:
                    what = DOWNLOAD_LABELS.get(event.action, event.action)
                    if event.action == "audit.export":
                        # The export's filters are what someone typed: only the format.
                        name = f"{after.get('format', '')} export".strip()
                    else:
                        name = (
                            after.get("path")
                            or after.get("file")
                            or after.get("filename")
                            or event.target_repr
                        )
                    download_rows.append(
                        [
                            event.occurred_at,
                            what,
                            model,
                            version,
                            name,
                            after.get("sha256"),
                            actor,
                            event.client_ip,
                        ]
                    )
                    self.fact_row(
                        "downloads",
                        event.occurred_at,
                        model,
                        version,
                        event.action,
                        actor,
                        "downloaded",
                        f"{what}: {name}"
                        + (f" (sha256 {after['sha256']})" if after.get("sha256") else ""),
                    )
        rollbacks.table(
            ROLLBACK_COLUMNS, rollback_rows, empty="No emergency rollback in this period."
        )
        grants.table(GRANT_COLUMNS, grant_rows, empty="No grant changes in this period.")
        downloads.table(DOWNLOAD_COLUMNS, download_rows, empty="No downloads in this period.")
        self.counts.update(
            rollbacks=len(rollback_rows), grants=len(grant_rows), downloads=len(download_rows)
        )

    # -- Section 7: the chain ----------------------------------------------------------------

    def verify(self, item) -> str:
        checked, bad, why = audit.verify_chain()
        first_bad = None
        if bad is not None:
            first_bad = f"#{bad.pk}"
            # Say what the event was only if the requester may read it.
            if audit_log.events_visible(self.user).filter(pk=bad.pk).exists():
                first_bad += f" ({bad.action}, {bad.occurred_at.isoformat()})"
        if not why:
            result = "verified: every event matches its hash and links to the one before it"
            fact = f"verified, {checked:,} events"
        else:
            result = f"FAILED: {why}"
            fact = f"FAILED after {checked:,} events" + (
                f" at event {first_bad}: {why}" if first_bad else f": {why}"
            )
        head, log = transparency.head_for_evidence(), transparency.verify_log()
        log_result = (
            f"verified: {log.heads:,} signed tree heads, each head's signature and root match "
            "the events now in the log"
            if not log.problems
            else "FAILED: " + "; ".join(log.problems)
        )
        item.fields(
            [
                ("Verified at", self.now),
                ("Events checked", checked),
                ("Result", result),
                ("First bad event", first_bad or "none"),
                ("Signed tree head covered", f"#{head.pk}: {head.tree_size:,} events"),
                ("Root hash", head.root_hash),
                ("Signed with key", head.key_id),
                ("Signed log verification", log_result),
            ]
        )
        if log.problems:
            fact += f"; signed log FAILED ({len(log.problems)} problems)"
        else:
            fact += f"; signed tree head #{head.pk} ({head.tree_size:,} events) verified"
        self.fact_row(
            "audit_chain",
            self.now,
            None,
            None,
            "audit.verify",
            self.user.get_username(),
            "verified" if not why and not log.problems else "failed",
            f"{checked} events checked" + (f"; first bad event {first_bad}: {why}" if why else ""),
        )
        return fact


def build(*, user, scope, progress, now) -> Document:
    b = _Builder(user=user, scope=scope, progress=progress, now=now)
    doc = Document(
        kind=KIND,
        title="Audit report",
        subject=scope.describe(),
        scope=scope.as_json(),
        generated_by=user.get_username(),
        generated_at=now,
    )
    s_transitions = doc.section(
        "transitions",
        "Stage transitions",
        intro="Transition requests opened, decided or acted on in the period, with the policy "
        "and gates each was held to, and every decision on them up to the period's end. "
        "Status is as of generation.",
    )
    transitions = (
        s_transitions.item("requests", "Transition requests", source="transition requests"),
        s_transitions.item("decisions", "Decisions", source="decisions on transition requests"),
    )
    s_emergency = doc.section(
        "emergency",
        "Emergency actions",
        intro="Emergency rollbacks to the previous approved Production version, and the "
        "post-hoc review each one opens.",
    )
    rollbacks = s_emergency.item(
        "rollbacks", "Emergency rollbacks", source='audit events "version.emergency_rollback"'
    )
    reviews = s_emergency.item(
        "reviews", "Post-hoc reviews", source="transition requests of kind post-hoc review"
    )
    s_production = doc.section(
        "production",
        "Models in Production",
        intro="Versions in Production when the report was generated, and the evidence behind "
        "each: the approving request and its decisions, the model card, artifact scans and "
        "hashes.",
    )
    production = s_production.item(
        "versions",
        "Production versions and their evidence",
        source="model versions, transition requests, model cards, artifacts",
    )
    s_late = doc.section(
        "late_requests",
        "Requests past their SLA",
        intro="Requests that were still open in the period after the SLA of their policy "
        "snapshot ran out: still pending, or decided late.",
    )
    late = s_late.item("requests", "Late requests", source="transition requests (policy SLA)")
    s_grants = doc.section("grants", "Grant changes")
    grants = s_grants.item(
        "changes", "Permissions granted and revoked", source='audit events "grant.*"'
    )
    s_downloads = doc.section("downloads", "Downloads")
    downloads = s_downloads.item(
        "downloads",
        "Downloads of artifacts, documents, reports and audit exports",
        source="audit events " + ", ".join(f'"{a}"' for a in DOWNLOAD_ACTIONS),
    )
    s_chain = doc.section(
        "audit_chain",
        "Audit chain verification",
        intro="The whole audit trail's hash chain recomputed when this report was generated.",
    )
    chain = s_chain.item(
        "verification",
        "Hash chain verification",
        source="governance.audit.verify_chain",
        fill="The verification did not run.",
    )

    progress(5, "Reading transition requests")
    b.walk_requests(transitions, reviews, late)
    progress(35, "Reading Production versions")
    b.walk_production(production)
    progress(55, "Reading audit events")
    b.walk_events(rollbacks, grants, downloads)
    progress(75, "Verifying the audit chain")
    chain_fact = b.verify(chain)

    start, end = scope.period_start, scope.period_end
    doc.fact("Period", f"{start or 'the beginning'} to {end or now.date()}")
    doc.fact("Audit chain", chain_fact)
    doc.fact("Transition requests", b.counts["requests"])
    doc.fact("Decisions", b.counts["decisions"])
    doc.fact("Emergency rollbacks", b.counts["rollbacks"])
    doc.fact("Models in Production", b.counts["production"])
    doc.fact("Requests past their SLA", b.counts["late"])
    doc.fact("Grant changes", b.counts["grants"])
    doc.fact("Downloads", b.counts["downloads"])
    doc.csv_columns = list(CSV_COLUMNS)
    order = {s.key: i for i, s in enumerate(doc.sections)}
    # One table, in the report's order: by section, then by time (stable for equal times).
    doc.csv_rows = sorted(b.csv, key=lambda row: (order.get(row[0], 99), row[1] or ""))
    progress(100, "Audit report ready")
    return doc
