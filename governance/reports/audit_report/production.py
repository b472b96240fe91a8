"""Section 3: the models in Production at generation time and the evidence behind each
version (the approving request and its decisions, card completeness, artifact scans and
hashes)."""

from django.db.models import Count, Prefetch, Q
from django.db.models.functions import Length

from governance.models import Decision, TransitionRequest
from governance.reports.audit_report.common import (
    BATCH_SIZE,
    PRODUCTION_COLUMNS,
    BuilderBase,
    decision_text,
    in_chunks,
)
from governance.reports.inventory import card_completeness_by_version, completeness_text
from registry.models import Artifact, ModelVersion, Stage


class ProductionSection(BuilderBase):
    def walk_production(self, item):
        versions = ModelVersion.objects.restrict(self.user, "view").filter(stage=Stage.PRODUCTION)
        if self.narrowed:
            versions = versions.filter(registered_model_id__in=self.models.values("pk"))
        versions = versions.select_related("registered_model").order_by(
            "registered_model__name", "version"
        )
        rows = []
        for chunk in in_chunks(versions.iterator(chunk_size=BATCH_SIZE), BATCH_SIZE):
            evidence = self._evidence([v.pk for v in chunk])
            for version in chunk:
                rows.append(self._production_row(version, evidence))
        item.table(PRODUCTION_COLUMNS, rows, empty="No model in this scope is in Production.")
        self.counts["production"] = len(rows)

    @staticmethod
    def _evidence(ids) -> dict:
        """For a batch of versions: the newest approving request and post-hoc review of
        each, card completeness, and artifact scan and hash counts (four queries)."""
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
        return {
            "approvals": approvals,
            "reviews": reviews,
            "cards": cards,
            "scans": scans,
            "hashed": hashed,
        }

    def _production_row(self, version, evidence) -> list:
        labels = dict(Artifact.ScanStatus.choices)
        model = version.registered_model
        request = evidence["approvals"].get(version.pk)
        decisions = list(request.decisions.all()) if request else []
        approvers = [
            d.approver_username for d in decisions if d.outcome == Decision.Outcome.APPROVE
        ]
        review = evidence["reviews"].get(version.pk)
        if review and request and review.created_at < request.decided_at:
            review = None  # an older rollback: this approval came after it
        by_status = evidence["scans"].get(version.pk, {})
        total = sum(by_status.values())
        scan_text = (
            ", ".join(f"{n} {labels.get(k, k).lower()}" for k, n in sorted(by_status.items()))
            or "no artifacts"
        )
        hash_text = f"{evidence['hashed'].get(version.pk, 0)} of {total}"
        card = completeness_text(evidence["cards"].get(version.pk))
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
        return [
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
