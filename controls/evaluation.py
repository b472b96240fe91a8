"""Readiness: every control of a framework evaluated for one AI system, live.

`control_status(ctx, control)` combines the control's evidence rules (controls/rules.py) and
its newest manual evidence: all met is met, all not met (or nothing) is not met, anything in
between is partly met. A not-applicable decision (with its reason) overrides both. A gap is a
control not met or partly met; its owner is the owner of its manual evidence, or else the
system's owner.
"""

from dataclasses import dataclass

from controls import rules
from controls.models import Control, Framework, NotApplicable
from controls.rules import MET, NOT_APPLICABLE, NOT_MET, PARTLY, STATUS_LABELS, Context, Outcome


@dataclass
class ControlResult:
    control: Control
    status: str
    outcomes: list  # (rule spec or "manual", Outcome)
    reason: str = ""  # why not applicable
    owner: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_gap(self) -> bool:
        return self.status in {NOT_MET, PARTLY}

    @property
    def evidence(self) -> list:
        return [link for _, outcome in self.outcomes for link in outcome.evidence]

    @property
    def summary(self) -> str:
        if self.status == NOT_APPLICABLE:
            return f"not applicable: {self.reason}"
        return "; ".join(outcome.summary for _, outcome in self.outcomes)

    @property
    def kinds(self) -> list[str]:
        return [spec if isinstance(spec, str) else spec["kind"] for spec, _ in self.outcomes]


def _not_applicable(system) -> dict:
    newest = {}
    for row in NotApplicable.objects.filter(system=system).order_by("created_at", "pk"):
        newest[row.control_id] = row
    return {k: v for k, v in newest.items() if not v.withdrawn}


def control_status(ctx: Context, control: Control, exclusions: dict | None = None):
    exclusions = _not_applicable(ctx.system) if exclusions is None else exclusions
    system_owner = ctx.system.owner.get_username() if ctx.system.owner else ""
    if control.pk in exclusions:
        return ControlResult(control, NOT_APPLICABLE, [], exclusions[control.pk].reason)
    outcomes = [(spec, ctx.outcome(spec)) for spec in control.rules]
    manual = rules.manual_outcome(ctx, control)
    owner = system_owner
    if manual is not None:
        outcomes.append(("manual", manual))
        newest = next(m for m in ctx.manual if m.control_id == control.pk)
        owner = newest.owner.get_username() if newest.owner else system_owner
    elif not control.rules:
        outcomes.append(("manual", Outcome(NOT_MET, "no manual evidence recorded")))
    status = rules.combine(o.status for _, o in outcomes)
    return ControlResult(control, status, outcomes, owner=owner)


@dataclass
class Readiness:
    framework: Framework
    system: object
    results: list

    @property
    def counts(self) -> dict:
        counts = {s: 0 for s in (MET, PARTLY, NOT_MET, NOT_APPLICABLE)}
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def gaps(self) -> list:
        return [r for r in self.results if r.is_gap]

    @property
    def percent_met(self) -> int:
        counts = self.counts
        applicable = len(self.results) - counts[NOT_APPLICABLE]
        return round(100 * counts[MET] / applicable) if applicable else 100


def readiness(system, framework: Framework, *, ctx: Context | None = None) -> Readiness:
    ctx = ctx or Context(system)
    exclusions = _not_applicable(system)
    controls = Control.objects.filter(framework=framework).order_by("order")
    return Readiness(framework, system, [control_status(ctx, c, exclusions) for c in controls])


def all_readiness(system) -> list[Readiness]:
    ctx = Context(system)
    return [readiness(system, f, ctx=ctx) for f in Framework.objects.all()]
