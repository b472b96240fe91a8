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

from governance.reports.audit_report.chain import ChainSection
from governance.reports.audit_report.common import (
    BATCH_SIZE,
    CSV_COLUMNS,
    DOWNLOAD_ACTIONS,
    KIND,
    decision_text,
    gates_required,
    gates_text,
    policy_text,
)
from governance.reports.audit_report.events import EventSections
from governance.reports.audit_report.production import ProductionSection
from governance.reports.audit_report.requests import RequestSections
from governance.reports.document import Document

__all__ = [
    "BATCH_SIZE",
    "CSV_COLUMNS",
    "KIND",
    "build",
    "decision_text",
    "gates_required",
    "gates_text",
    "policy_text",
]


# Sections that apps above governance add (aisystems registers its registers' section in
# its ready()): each is called as `add(doc, user=, scope=, now=, csv=)` before the chain
# section, and may append rows (CSV_COLUMNS) to `csv`.
EXTRA_SECTIONS: list = []


class _Builder(RequestSections, ProductionSection, EventSections, ChainSection):
    """One report's walk: each section's module adds its part (requests.py, production.py,
    events.py, chain.py) to the shared state of common.BuilderBase."""


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
    for add in EXTRA_SECTIONS:
        add(doc, user=user, scope=scope, now=now, csv=b.csv)
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
