"""Evidence rules: what in the registry satisfies a control, evaluated live for one AI system.

A control's `rules` is a list of rule specs from its library file, e.g.
`{kind: card_section, sections: [intended_use]}`. Each kind is a function here, registered in
RULES, taking the evaluation context and the spec and returning an Outcome: a status (met,
partly met, not met), one sentence saying why, and links to the evidence it looked at.

The scope of a system is its model versions (the ones named in the system, or else the newest
version of each member model) and its member models. Reading is done with the rows the
caller was allowed to reach: the context is built from a system the caller got through
`restrict()`, and every rule reads only that system's rows.
"""

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from django.db.models import Count, Q
from django.urls import reverse

from aisystems.models import (
    AISystem,
    Conformity,
    Dataset,
    Incident,
    MonitoringMetric,
    RightsAssessment,
    RiskEntry,
)
from governance.models import Report, TransitionRequest
from registry.models import ModelCard, ModelVersion

MET = "met"
PARTLY = "partly"
NOT_MET = "not_met"
NOT_APPLICABLE = "not_applicable"
STATUS_LABELS = {
    MET: "Met",
    PARTLY: "Partly met",
    NOT_MET: "Not met",
    NOT_APPLICABLE: "Not applicable",
}

# SR 11-7 V: how often a model is validated again, by its risk class (months).
REVALIDATION_MONTHS = {"high": 12, "limited": 24, "minimal": 36, "unclassified": 12}


@dataclass(frozen=True)
class Outcome:
    status: str
    summary: str
    evidence: tuple = field(default=())  # (label, url) pairs

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def combine(statuses) -> str:
    statuses = list(statuses)
    if not statuses or all(s == NOT_MET for s in statuses):
        return NOT_MET
    if all(s == MET for s in statuses):
        return MET
    return PARTLY


def _graded(done: int, total: int) -> str:
    if total and done == total:
        return MET
    return PARTLY if done else NOT_MET


class Context:
    """The system being evaluated, with its scope read once and shared by every rule."""

    def __init__(self, system: AISystem, today: date | None = None):
        self.system = system
        self.today = today or date.today()
        self._outcomes = {}

    def outcome(self, spec: dict) -> "Outcome":
        """The rule's outcome, evaluated once per context: many controls share a rule (the
        same card sections, the risk register), and a page evaluates every framework."""
        key = json.dumps(spec, sort_keys=True)
        if key not in self._outcomes:
            self._outcomes[key] = RULES[spec["kind"]](self, spec)
        return self._outcomes[key]

    @cached_property
    def models(self) -> list:
        return list(system_models(self.system))

    @cached_property
    def versions(self) -> list:
        named = list(self.system.versions.select_related("registered_model"))
        if named:
            return named
        newest = []
        for model in self.models:
            version = (
                ModelVersion.objects.filter(registered_model=model)
                .select_related("registered_model")
                .order_by("-version")
                .first()
            )
            if version:
                newest.append(version)
        return newest

    @cached_property
    def manual(self) -> list:
        from controls.models import ManualEvidence

        return list(ManualEvidence.objects.filter(system=self.system).select_related("owner"))


def system_models(system: AISystem):
    return system.registered_models.order_by("name")


def card_section(ctx: Context, spec: dict) -> Outcome:
    sections = spec["sections"]
    if not ctx.versions:
        return Outcome(NOT_MET, "the system has no model version with a card")
    cards = {
        c.model_version_id: c for c in ModelCard.objects.filter(model_version__in=ctx.versions)
    }
    done, missing, links = 0, [], []
    for version in ctx.versions:
        card = cards.get(version.pk)
        filled = card.sections if card else {}
        for key in sections:
            if (filled.get(key) or "").strip():
                done += 1
            else:
                missing.append(f"{version} {key}")
        if card:
            links.append((f"Model card of {version}", card.get_absolute_url()))
    total = len(ctx.versions) * len(sections)
    summary = (
        f"card sections {', '.join(sections)} are written"
        if done == total
        else f"empty card sections: {', '.join(missing)}"
    )
    return Outcome(_graded(done, total), summary, tuple(links))


def four_eyes_approval(ctx: Context, spec: dict) -> Outcome:
    """An approved transition request decided by two or more people, none of them its
    requester (the four-eyes principle)."""
    approved = (
        TransitionRequest.objects.filter(model_version__in=ctx.versions, status="approved")
        .select_related("model_version__registered_model")
        .order_by("-decided_at")
    )
    single = None
    for request in approved:
        approvers = {
            d.approver_id
            for d in request.decisions.all()
            if d.outcome == "approve" and d.approver_id != request.requested_by_id
        }
        link = (f"Request #{request.pk} ({request.model_version})", request.get_absolute_url())
        if len(approvers) >= 2:
            return Outcome(MET, f"request #{request.pk} was approved by two people", (link,))
        single = single or link
    if single:
        return Outcome(PARTLY, "approved by one person only, not under four eyes", (single,))
    return Outcome(NOT_MET, "no approved transition request for the system's versions")


def _clean(artifact) -> bool:
    # As the promotion gate (governance/policy.py): "clean" with nothing found, or not a pickle.
    return artifact.scan_status == "not_applicable" or (
        artifact.scan_status == "clean" and not artifact.scan_findings
    )


def clean_scan(ctx: Context, spec: dict) -> Outcome:
    artifacts = [a for v in ctx.versions for a in v.artifacts.all()]
    if not artifacts:
        return Outcome(NOT_MET, "the system's versions have no scanned artifacts")
    flagged = [a for a in artifacts if a.scan_status == "flagged"]
    unclean = [a for a in artifacts if not _clean(a)]
    links = tuple((str(v), v.get_absolute_url()) for v in ctx.versions)
    if flagged:
        names = ", ".join(f"{a.model_version} {a.path}" for a in flagged)
        return Outcome(NOT_MET, f"flagged by the scanner: {names}", links)
    if unclean:
        names = ", ".join(f"{a.model_version} {a.path}" for a in unclean)
        return Outcome(PARTLY, f"scan pending or failed: {names}", links)
    return Outcome(MET, f"all {len(artifacts)} artifacts scanned clean", links)


def risk_entry(ctx: Context, spec: dict) -> Outcome:
    entries = list(RiskEntry.objects.filter(system=ctx.system))
    if not entries:
        return Outcome(NOT_MET, "the risk register is empty")
    links = tuple((e.title, e.get_absolute_url()) for e in entries[:5])
    current = [e for e in entries if e.review_on >= ctx.today]
    if current:
        return Outcome(MET, f"{len(entries)} risk entries, reviews up to date", links)
    return Outcome(PARTLY, "every risk entry is past its review date", links)


def monitoring_plan(ctx: Context, spec: dict) -> Outcome:
    metrics = list(
        MonitoringMetric.objects.filter(system=ctx.system).annotate(n=Count("observations"))
    )
    if not metrics:
        return Outcome(NOT_MET, "no post-market monitoring plan")
    links = tuple((m.title, m.get_absolute_url()) for m in metrics[:5])
    with_data = [m for m in metrics if m.n]
    if len(with_data) == len(metrics):
        return Outcome(MET, f"{len(metrics)} monitored metrics, each with data", links)
    if with_data:
        return Outcome(PARTLY, "some monitored metrics have no observation yet", links)
    return Outcome(PARTLY, "a monitoring plan, but no observation recorded", links)


def register(ctx: Context, spec: dict) -> Outcome:
    name = spec["register"]
    model, done_q, what = {
        "datasets": (Dataset, Q(), "dataset entries"),
        "fria": (RightsAssessment, Q(status__in=["complete", "notified"]), "rights assessments"),
        "conformity": (Conformity, Q(status="complete"), "conformity assessments"),
        "incidents": (Incident, None, "incidents"),
    }[name]
    entries = list(model.objects.filter(system=ctx.system))
    links = tuple((e.title, e.get_absolute_url()) for e in entries[:5])
    if name == "incidents":
        late = [e for e in entries if e.overdue]
        if late:
            titles = ", ".join(e.title for e in late)
            return Outcome(NOT_MET, f"serious incidents not reported in time: {titles}", links)
        return Outcome(MET, f"{len(entries)} incidents recorded, none overdue", links)
    if not entries:
        return Outcome(NOT_MET, f"no {what}")
    done = model.objects.filter(system=ctx.system).filter(done_q).count()
    if done:
        return Outcome(MET, f"{done} complete {what}", links)
    return Outcome(PARTLY, f"{what} started, none complete", links)


def access_review(ctx: Context, spec: dict) -> Outcome:
    reviews = [m for m in ctx.manual if m.kind == "access_review"]
    if not reviews:
        return Outcome(NOT_MET, "no access review recorded")
    newest = reviews[0]
    link = ((newest.title, _manual_url(newest)),)
    if newest.is_overdue(ctx.today):
        return Outcome(NOT_MET, f"the access review was due on {newest.review_on}", link)
    return Outcome(MET, f"access reviewed; next review due {newest.review_on}", link)


def signed_report(ctx: Context, spec: dict) -> Outcome:
    reports = list(
        Report.objects.filter(
            registered_model_id__in=[m.pk for m in ctx.models], status="ready", format="pdf"
        ).order_by("-created_at")[:3]
    )
    if not reports:
        return Outcome(NOT_MET, "no signed PDF report about the system's models")
    links = tuple((r.title, r.get_absolute_url()) for r in reports)
    return Outcome(MET, f"signed report {reports[0].title}", links)


def _findings_and_validations(ctx):
    from controls.models import Finding, Validation

    ids = [m.pk for m in ctx.models]
    return (
        list(Finding.objects.filter(registered_model_id__in=ids)),
        list(Validation.objects.filter(registered_model_id__in=ids)),
    )


def independent_validation(ctx: Context, spec: dict) -> Outcome:
    _, validations = _findings_and_validations(ctx)
    validated = {v.registered_model_id for v in validations if v.independent}
    done = sum(1 for m in ctx.models if m.pk in validated)
    if not ctx.models:
        return Outcome(NOT_MET, "the system has no member model")
    return Outcome(
        _graded(done, len(ctx.models)),
        f"{done} of {len(ctx.models)} models independently validated",
        tuple((m.name, reverse("controls:model-risk", args=[m.name])) for m in ctx.models),
    )


def next_validation_due(model, validations) -> date | None:
    """The date `model` must be validated again by; None when never validated."""
    own = [v for v in validations if v.registered_model_id == model.pk and v.independent]
    if not own:
        return None
    months = REVALIDATION_MONTHS.get(model.risk_class, 12)
    return max(v.validated_on for v in own) + timedelta(days=round(months * 30.44))


def revalidation_current(ctx: Context, spec: dict) -> Outcome:
    _, validations = _findings_and_validations(ctx)
    if not ctx.models:
        return Outcome(NOT_MET, "the system has no member model")
    late = []
    for model in ctx.models:
        due = next_validation_due(model, validations)
        if due is None or due < ctx.today:
            late.append(f"{model.name} ({'never validated' if due is None else f'due {due}'})")
    done = len(ctx.models) - len(late)
    summary = "every model's validation is current" if not late else "overdue: " + ", ".join(late)
    return Outcome(_graded(done, len(ctx.models)), summary)


def findings_closed(ctx: Context, spec: dict) -> Outcome:
    findings, _ = _findings_and_validations(ctx)
    open_ = [f for f in findings if f.status == "open"]
    high = [f for f in open_ if f.severity == "high"]
    if high:
        return Outcome(NOT_MET, f"{len(high)} high-severity finding(s) open")
    if open_:
        return Outcome(PARTLY, f"{len(open_)} lower-severity finding(s) open")
    return Outcome(MET, "no open validation finding")


RULES = {
    "card_section": card_section,
    "four_eyes_approval": four_eyes_approval,
    "clean_scan": clean_scan,
    "risk_entry": risk_entry,
    "monitoring_plan": monitoring_plan,
    "register": register,
    "access_review": access_review,
    "signed_report": signed_report,
    "independent_validation": independent_validation,
    "revalidation_current": revalidation_current,
    "findings_closed": findings_closed,
}
# The extra keys each rule kind takes (checked when the library loads).
RULE_ARGS = {"card_section": {"sections"}, "register": {"register"}}
REGISTERS = {"datasets", "fria", "conformity", "incidents"}


def _manual_url(evidence) -> str:
    return reverse("controls:evidence-detail", args=[evidence.system_id, evidence.pk])


def manual_outcome(ctx: Context, control) -> Outcome | None:
    """The newest manual evidence for `control`, or None when there is none."""
    mine = [m for m in ctx.manual if m.control_id == control.pk]
    if not mine:
        return None
    newest = mine[0]
    link = ((newest.title, _manual_url(newest)),)
    owner = newest.owner.get_username() if newest.owner else "nobody"
    if newest.is_overdue(ctx.today):
        return Outcome(PARTLY, f"manual evidence past its review date {newest.review_on}", link)
    return Outcome(MET, f"manual evidence owned by {owner}, review {newest.review_on}", link)
