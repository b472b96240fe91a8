"""Sections 1 (stage transitions), 2 (post-hoc reviews) and 4 (requests past their SLA),
filled in one pass over the transition requests."""

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q

from governance.models import Decision, TransitionRequest
from governance.reports.audit_report.common import (
    BATCH_SIZE,
    DECISION_COLUMNS,
    LATE_COLUMNS,
    REQUEST_COLUMNS,
    REVIEW_COLUMNS,
    BuilderBase,
    decision_text,
    gates_text,
    policy_text,
)


class RequestSections(BuilderBase):
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

    @staticmethod
    def _names(request):
        version = request.model_version
        requester = request.requested_by.get_username() if request.requested_by else None
        return version, version.registered_model.name, requester

    def walk_requests(self, transitions, reviews, late_item):
        rows = {"requests": [], "decisions": [], "reviews": [], "late": []}
        for request in self.requests().iterator(chunk_size=BATCH_SIZE):
            # Decisions up to the end of the period: the request's trail, nothing later.
            decisions = [
                d
                for d in request.decisions.all()
                if self.period.end is None or d.created_at < self.period.end
            ]
            if self.touched(request, decisions):
                if request.kind == TransitionRequest.Kind.POST_HOC:
                    self._review(request, decisions, rows)
                else:
                    self._transition(request, decisions, rows)
            overdue = self.late(request)
            if overdue is not None:
                self._late(request, *overdue, rows)
        transitions[0].table(
            REQUEST_COLUMNS, rows["requests"], empty="No transition requests in this period."
        )
        transitions[1].table(
            DECISION_COLUMNS, rows["decisions"], empty="No decisions in this period."
        )
        reviews.table(REVIEW_COLUMNS, rows["reviews"], empty="No post-hoc reviews in this period.")
        late_item.table(LATE_COLUMNS, rows["late"], empty="No request went past its SLA.")
        self.counts.update({key: len(found) for key, found in rows.items()})

    def _review(self, request, decisions, rows) -> None:
        """A post-hoc review of an emergency rollback (section 2)."""
        version, model, requester = self._names(request)
        self.review_status[request.pk] = request.get_status_display()
        rows["reviews"].append(
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
        self._decision_facts("emergency", request, decisions)

    def _transition(self, request, decisions, rows) -> None:
        """A normal transition request and its decisions (section 1)."""
        version, model, requester = self._names(request)
        rows["requests"].append(
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
        for d in decisions:
            rows["decisions"].append(
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
        self._decision_facts("transitions", request, decisions)

    def _decision_facts(self, section, request, decisions) -> None:
        version, model, _ = self._names(request)
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

    def _late(self, request, due, hours, rows) -> None:
        """A request that sat past its SLA in the period (section 4)."""
        version, model, requester = self._names(request)
        sla = request.policy.get("sla_hours", 72)
        rows["late"].append(
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
            f"request #{request.pk} to {request.target_stage}: SLA {sla} h, {hours} h past due",
        )
