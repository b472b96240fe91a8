"""Annex IV points 3 to 5: monitoring, functioning and control; metrics; risk management."""

from governance.models import AuditEvent
from governance.reports.document import Document
from governance.reports.techdoc.common import add_card_text, card_item, iso_time
from governance.reports.techdoc.development import add_slice_table
from registry.models import RiskClass

# --- 3. Monitoring, functioning and control -------------------------------------------------


def _monitoring(doc: Document, ctx: dict) -> None:
    texts = ctx["texts"]
    section = doc.section(
        "monitoring",
        "Monitoring, functioning and control",
        intro="Annex IV point 3: capabilities and limitations of performance, accuracy for "
        "the groups the system is intended for, foreseeable risks and human oversight.",
    )
    card_item(section, "capabilities", "Capabilities", texts, "intended_use")
    card_item(
        section,
        "limitations",
        "Limitations of performance",
        texts,
        "risks_limitations",
        "out_of_scope",
    )
    groups = section.item(
        "group_performance",
        "Accuracy for specific groups",
        source="the version's metrics per slice; model card: Factors, Quantitative analyses",
        fill="Record metrics per group or slice with the version (a metric's dataset) and "
        "fill the model card's Factors section.",
    )
    add_slice_table(groups, ctx["metrics"])
    add_card_text(groups, texts, ["factors", "quantitative_analyses"])
    card_item(
        section,
        "foreseeable_risks",
        "Foreseeable unintended outcomes and sources of risk",
        texts,
        "risks_limitations",
        "ethical_considerations",
    )
    card_item(section, "oversight_measures", "Human oversight measures", texts, "human_oversight")


# --- 4. Metrics ---------------------------------------------------------------------------


def _metrics(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "metrics",
        "Appropriateness of the performance metrics",
        intro="Annex IV point 4: why the chosen metrics suit this system.",
    )
    item = card_item(
        section, "metrics_appropriateness", "Why these metrics", ctx["texts"], "metrics"
    )
    names = sorted({m.name for m in ctx["metrics"]})
    if item.blocks and names:
        item.text("Metrics recorded with this version: " + ", ".join(names) + ".")


# --- 5. Risk management ---------------------------------------------------------------------


def _risk_management(doc: Document, ctx: dict) -> None:
    model = ctx["model"]
    section = doc.section(
        "risk_management",
        "Risk management system",
        intro="Annex IV point 5 and Article 9: the risk class, its rationale, the known and "
        "foreseeable risks and their mitigation.",
    )
    item = section.item(
        "risk_class",
        "Risk class and its rationale",
        source="the model's risk class and the rationale recorded when it was set",
        fill="Set the model's risk class, with its rationale, on the model page (Risk class).",
    )
    if model.risk_class != RiskClass.UNCLASSIFIED:
        event = (
            AuditEvent.objects.filter(registered_model_id=model.pk, action="model.risk_class")
            .order_by("-id")
            .first()
        )
        after = event.after if event is not None and isinstance(event.after, dict) else {}
        item.fields(
            [
                ("Risk class", model.get_risk_class_display()),
                ("Rationale", after.get("rationale")),
                ("Set by", event.actor_username if event else None),
                ("Set at", iso_time(event.occurred_at) if event else None),
            ]
        )
    card_item(
        section,
        "risk_management_measures",
        "Known and foreseeable risks and their management",
        ctx["texts"],
        "risk_management",
    )
