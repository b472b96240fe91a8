"""AI systems and their registers in governance's reports: a section of the audit report,
and a member of the evidence bundle. Registered in aisystems.apps through
`governance.reports.audit_report.EXTRA_SECTIONS` and `governance.reports.bundle.EXTRA_MEMBERS`,
so governance never imports aisystems. Every row through `restrict()`, as the reports'."""

import json

from django.db.models import Exists, OuterRef, Q

from aisystems import techdoc
from aisystems.models import AISystem, AISystemModel, Incident, MetricObservation
from aisystems.registers.services import snapshot
from aisystems.registers.specs import REGISTERS

SECTION = "ai_systems"


def systems_in_scope(user, scope):
    rows = AISystem.objects.restrict(user, "view")
    members = AISystemModel.objects.filter(system=OuterRef("pk"))
    if scope.model is not None:
        rows = rows.filter(Exists(members.filter(registered_model=scope.model)))
    if scope.team is not None:
        rows = rows.filter(Exists(members.filter(registered_model__team=scope.team)))
    if scope.risk_class:
        rows = rows.filter(risk_class=scope.risk_class)
    return rows.order_by("name")


def _in_period(field: str, start, end) -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": start})
    if end is not None:
        q &= Q(**{f"{field}__lt": end})
    return q


def _status(entry) -> str:
    for name in ("get_status_display", "get_route_display"):
        if hasattr(entry, name):
            return getattr(entry, name)()
    return ""


def audit_report_section(doc, *, user, scope, now, csv) -> None:
    """Section "AI systems and their registers": the systems in scope, and per register
    the entries recorded or changed in the period; serious incidents with their deadline,
    and monitoring breaches in the period."""
    start, end = scope.period_bounds()
    systems = list(systems_in_scope(user, scope))
    ids = [s.pk for s in systems]
    section = doc.section(
        SECTION,
        "AI systems and their registers",
        intro="The EU AI Act's AI systems in scope, and their registers' entries recorded or "
        "changed in the period (Art. 9, 10, 27, 43-49, 72, 73).",
    )
    section.item("systems", "AI systems", source="AI systems").table(
        ["System", "Risk class", "Annex III", "Market status", "Provider"],
        [
            [
                s.name,
                s.get_risk_class_display(),
                s.get_annex_iii_category_display(),
                s.get_market_status_display(),
                s.provider_name,
            ]
            for s in systems
        ],
        empty="No AI system in scope.",
    )
    names = {s.pk: s.name for s in systems}
    for spec in REGISTERS:
        entries = (
            spec.model.objects.restrict(user, "view")
            .filter(system_id__in=ids)
            .filter(_in_period("updated_at", start, end))
            .select_related("owner")
            .order_by("system_id", "updated_at", "pk")
        )
        rows = []
        for e in entries:
            owner = e.owner.get_username() if e.owner else ""
            rows.append([names[e.system_id], e.title, owner, _status(e), e.updated_at])
            csv.append(
                [
                    SECTION,
                    e.updated_at.isoformat(),
                    names[e.system_id],
                    "",
                    spec.event,
                    owner,
                    _status(e),
                    e.title,
                ]
            )
        section.item(
            spec.kind, f"{spec.label} ({spec.article})", source=f"register {spec.kind}"
        ).table(
            ["System", "Entry", "Owner", "Status", "Updated"],
            rows,
            empty="No entry recorded or changed in the period.",
        )
    # Incidents whose reporting duty ran in the period: known before its end, and not
    # reported before its start.
    running = Q()
    if end is not None:
        running &= Q(aware_at__lt=end)
    if start is not None:
        running &= Q(report_sent_at__isnull=True) | Q(report_sent_at__gte=start)
    incidents = (
        Incident.objects.restrict(user, "view")
        .filter(system_id__in=ids)
        .filter(running)
        .order_by("aware_at", "pk")
    )
    section.item(
        "incident_deadlines",
        "Serious incidents and their deadlines (Art. 73)",
        source="register incidents",
    ).table(
        ["System", "Incident", "Aware at", "Deadline", "Report sent", "Approved by", "On time"],
        [
            [
                names[i.system_id],
                i.title,
                i.aware_at,
                i.deadline,
                i.report_sent_at or "not sent",
                i.approved_by_username or "not approved",
                "yes" if (i.report_sent_at or now) <= i.deadline else "no",
            ]
            for i in incidents
        ],
        empty="No serious incident was due to be reported in the period.",
    )
    breaches = (
        MetricObservation.objects.restrict(user, "view")
        .filter(metric__system_id__in=ids, breach=True)
        .filter(_in_period("observed_at", start, end))
        .select_related("metric", "model_version__registered_model", "review")
        .order_by("observed_at", "pk")
    )
    section.item(
        "monitoring_breaches",
        "Post-market monitoring breaches (Art. 72)",
        source="register monitoring: observations",
    ).table(
        ["System", "Metric", "Value", "Observed at", "Version", "Review"],
        [
            [
                names[b.metric.system_id],
                b.metric.metric_key,
                b.value,
                b.observed_at,
                f"{b.model_version.registered_model.name} v{b.model_version.version}"
                if b.model_version
                else "",
                b.review.title if b.review else "",
            ]
            for b in breaches
        ],
        empty="No threshold breached in the period.",
    )
    doc.fact("AI systems", len(systems))


def bundle_members(*, user, version) -> list[tuple[str, bytes]]:
    """`ai-systems.json`: the systems built from the bundle's model (that the requester may
    see), each with its Annex IV walk and every register's entries; observations of this
    version only."""
    systems = AISystem.objects.restrict(user, "view").filter(
        Exists(
            AISystemModel.objects.filter(
                system=OuterRef("pk"), registered_model_id=version.registered_model_id
            )
        )
    )
    data = []
    for system in systems.order_by("name"):
        items = techdoc.build(user, system)
        done, total = techdoc.completeness(items)
        registers = {}
        for spec in REGISTERS:
            entries = spec.model.objects.restrict(user, "view").filter(system=system)
            registers[spec.kind] = [
                {"id": e.pk, **snapshot(e, spec)} for e in entries.order_by("pk")
            ]
        observations = (
            MetricObservation.objects.restrict(user, "view")
            .filter(metric__system=system, model_version=version)
            .select_related("metric")
            .order_by("observed_at", "pk")
        )
        data.append(
            {
                "name": system.name,
                "risk_class": system.risk_class,
                "annex_iii_category": system.annex_iii_category,
                "market_status": system.market_status,
                "provider": {"name": system.provider_name, "address": system.provider_address},
                "annex_iv": {
                    "complete_or_not_applicable": done,
                    "items": total,
                    "points": [i.as_dict() for i in items],
                },
                "registers": registers,
                "observations_of_this_version": [
                    {
                        "metric": o.metric.metric_key,
                        "value": o.value,
                        "observed_at": o.observed_at.isoformat(),
                        "breach": o.breach,
                    }
                    for o in observations
                ],
            }
        )
    if not data:
        return []
    body = json.dumps({"ai_systems": data}, sort_keys=True, indent=2, default=str)
    return [("ai-systems.json", body.encode())]
