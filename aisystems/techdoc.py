"""The technical documentation of an AI system, walked point by point along EU AI Act
Annex IV, from the system, its registers and its models' cards and versions.

Every point of Annex IV (`ANNEX_IV`) is one or more items, each **filled** (with the text
and where it comes from), **missing** (with what fills it) or **not applicable** (with the
reason). `completeness()` is the one figure: items filled or not applicable out of all."""

from dataclasses import dataclass, field

from django.db.models import Q

from aisystems.models import (
    AISystem,
    Conformity,
    Dataset,
    MonitoringMetric,
    RiskEntry,
)
from governance.models import AuditEvent
from governance.reports.techdoc.common import card_texts
from registry.cards import SECTIONS_BY_KEY, card_of
from registry.models import ModelVersion, RiskClass, Stage

FILLED, MISSING, NOT_APPLICABLE = "filled", "missing", "not_applicable"

# Annex IV's points, in its order, with the Regulation's own words (shortened).
ANNEX_IV = (
    ("1(a)", "Intended purpose, the provider, and the versions of the system"),
    ("1(b)", "Interaction with hardware, software and other AI systems"),
    ("1(c)", "Versions of relevant software or firmware, and update requirements"),
    ("1(d)", "Forms in which it is placed on the market or put into service"),
    ("1(e)", "Hardware on which it is intended to run"),
    ("1(f)", "Photographs or illustrations of the products it is a component of"),
    ("1(g)", "The user interface provided to the deployer"),
    ("1(h)", "Instructions for use for the deployer"),
    ("2(a)", "Methods and steps of development, pre-trained systems and third-party tools"),
    ("2(b)", "Design specifications: logic, algorithms, key choices, hyperparameters"),
    ("2(c)", "System architecture and computational resources used"),
    ("2(d)", "Data requirements: datasheets, provenance, labelling and cleaning"),
    ("2(e)", "Assessment of the human oversight measures (Art. 14)"),
    ("2(f)", "Pre-determined changes to the system and its performance"),
    ("2(g)", "Validation and testing procedures, data, metrics and test reports"),
    ("2(h)", "Cybersecurity measures"),
    ("3", "Monitoring, functioning and control: capabilities, limitations, input data"),
    ("4", "Appropriateness of the performance metrics"),
    ("5", "The risk management system (Art. 9)"),
    ("6", "Relevant changes made through the lifecycle"),
    ("7", "Harmonised standards or other solutions applied"),
    ("8", "A copy of the EU declaration of conformity (Art. 47)"),
    ("9", "The post-market monitoring system and plan (Art. 72)"),
)
EDIT = "the AI system's edit page"


@dataclass
class Item:
    point: str
    title: str
    status: str = MISSING
    text: list = field(default_factory=list)
    source: str = ""
    fill: str = ""  # what fills it, when missing
    reason: str = ""  # why not, when not applicable

    def as_dict(self) -> dict:
        return {
            "point": self.point,
            "title": self.title,
            "status": self.status,
            "text": self.text,
            "source": self.source,
            "fill": self.fill if self.status == MISSING else "",
            "reason": self.reason if self.status == NOT_APPLICABLE else "",
        }


def stage_text(version) -> str:
    return "no stage" if version.stage == Stage.NONE else version.stage


def _sentence(text: str) -> str:
    text = (text or "").strip() or "not recorded"
    return text if text.endswith((".", "!", "?")) else f"{text}."


def documented_versions(user, system: AISystem) -> list:
    """Per member model the user may see: the versions named on the system, else its
    Production version, else its latest."""
    chosen = list(
        ModelVersion.objects.restrict(user, "view")
        .filter(ai_systems=system)
        .select_related("registered_model")
    )
    named = {v.registered_model_id for v in chosen}
    members = (
        ModelVersion.objects.restrict(user, "view")
        .filter(registered_model__ai_system_memberships__system=system)
        .exclude(registered_model_id__in=named)
        .select_related("registered_model")
        .order_by("registered_model_id", "-version")
    )
    fallback = {}
    for version in members:
        current = fallback.get(version.registered_model_id)
        if current is None or (
            version.stage == Stage.PRODUCTION and current.stage != Stage.PRODUCTION
        ):
            fallback[version.registered_model_id] = version
    return sorted(
        chosen + list(fallback.values()), key=lambda v: (v.registered_model.name, -v.version)
    )


class _Builder:
    def __init__(self, user, system: AISystem):
        self.user, self.system = user, system
        self.versions = documented_versions(user, system)
        self.cards = {v.pk: card_texts(card_of(v)) for v in self.versions}
        self.items: list[Item] = []

    def item(self, point: str, title: str = "", **kwargs) -> Item:
        titles = dict(ANNEX_IV)
        item = Item(point, title or titles[point], **kwargs)
        self.items.append(item)
        return item

    def text_field(self, point, name, label, *names, title=""):
        values = [(n, getattr(self.system, n).strip()) for n in (name, *names)]
        item = self.item(point, title, source=f"AI system: {label}")
        if all(v for _, v in values):
            item.status = FILLED
            item.text = [v for _, v in values]
        else:
            item.fill = f"Describe it on {EDIT} ({label})."
        return item

    def card_sections(self, point, *keys, title="", extra=None) -> Item:
        """Filled when every documented version's card has every one of `keys`."""
        names = ", ".join(SECTIONS_BY_KEY[k].title for k in keys)
        item = self.item(point, title, source=f"model cards: {names}")
        lacking = []
        for version in self.versions:
            texts = self.cards[version.pk]
            ref = f"{version.registered_model.name} v{version.version}"
            for key in keys:
                if texts.get(key):
                    item.text.append(f"{ref}, {SECTIONS_BY_KEY[key].title}: {texts[key]}")
                else:
                    lacking.append(f"{ref} ({SECTIONS_BY_KEY[key].title})")
        if extra:
            item.text += extra
        if not self.versions:
            item.fill = "Add the models and versions the system is built from."
        elif lacking:
            item.fill = "Fill the model card sections: " + "; ".join(lacking) + "."
        else:
            item.status = FILLED
        return item

    def build(self) -> list[Item]:
        s = self.system
        # --- 1. General description
        item = self.item("1(a)", source="AI system: intended purpose, provider; versions")
        item.text = [
            s.intended_purpose,
            f"Provider: {s.provider_name}, {s.provider_address}",
            "Versions: "
            + (
                ", ".join(
                    f"{v.registered_model.name} v{v.version} ({stage_text(v)})"
                    for v in self.versions
                )
                or "none"
            ),
        ]
        if s.intended_purpose and s.provider_name and s.provider_address and self.versions:
            item.status = FILLED
        else:
            item.fill = "Add the models and versions the system is built from."
        self.text_field("1(b)", "interfaces", "interaction with other systems")
        self.text_field("1(c)", "software_versions", "software and versions", "update_requirements")
        self.text_field("1(d)", "delivery_forms", "forms placed on the market")
        self.text_field("1(e)", "hardware", "hardware")
        if s.annex_iii_category == "annex_i":
            self.text_field("1(f)", "product_illustrations", "product illustrations")
        else:
            self.item(
                "1(f)",
                status=NOT_APPLICABLE,
                reason="It is not a component of a product under Annex I (Art. 6(1)).",
            )
        self.text_field("1(g)", "deployer_interface", "deployer's interface")
        self.text_field("1(h)", "instructions_for_use", "instructions for use")
        # --- 2. Development
        self.card_sections("2(a)", "model_details")
        params = []
        for v in self.versions:
            logged = ", ".join(f"{p.key}={p.value}" for p in v.params.all()[:40])
            if logged:
                params.append(f"{v.registered_model.name} v{v.version} hyperparameters: {logged}")
        item = self.card_sections("2(b)", "model_details", "intended_purpose", extra=params)
        if item.status == FILLED and len(params) < len(self.versions):
            item.status, item.fill = MISSING, "Log the versions' hyperparameters (params)."
        self.card_sections("2(c)", "model_details", "environmental_impact")
        self._datasets()
        self.card_sections("2(e)", "human_oversight")
        self.text_field("2(f)", "predetermined_changes", "pre-determined changes")
        metrics = []
        for v in self.versions:
            found = ", ".join(f"{m.name}={m.value:g}" for m in v.metrics.all()[:40])
            if found:
                metrics.append(f"{v.registered_model.name} v{v.version} metrics: {found}")
        item = self.card_sections("2(g)", "evaluation_data", "metrics", extra=metrics)
        if item.status == FILLED and len(metrics) < len(self.versions):
            item.status, item.fill = MISSING, "Log the versions' test metrics."
        self.text_field("2(h)", "cybersecurity", "cybersecurity measures")
        # --- 3. Monitoring, functioning and control
        self.card_sections("3", "risks_limitations", title="Capabilities and limitations")
        self.card_sections("3", "quantitative_analyses", title="Accuracy for groups of persons")
        self.card_sections("3", "human_oversight", title="Human oversight measures")
        self.text_field(
            "3",
            "input_specification",
            "input data specification",
            title="Specifications on input data",
        )
        # --- 4 to 9
        self.card_sections("4", "metrics")
        self._risks()
        self._changes()
        self._standards()
        self._declaration()
        self._monitoring()
        return self.items

    def _entries(self, model):
        return model.objects.restrict(self.user, "view").filter(system=self.system)

    def _datasets(self):
        item = self.item("2(d)", source="Data governance register (Art. 10)")
        rows = list(self._entries(Dataset).order_by("title"))
        for d in rows:
            parts = [
                ("provenance", d.provenance),
                ("collection", d.collection),
                ("labelling and cleaning", d.labelling_cleaning),
                ("bias examination", d.bias_examination),
                ("known gaps", d.known_gaps),
            ]
            item.text.append(
                f"{d.title}. "
                + " ".join(
                    f"{label[:1].upper()}{label[1:]}: {_sentence(text)}" for label, text in parts
                )
            )
        if rows and all(d.labelling_cleaning and d.bias_examination for d in rows):
            item.status = FILLED
        elif rows:
            item.fill = "Record the labelling, cleaning and bias examination of each dataset."
        else:
            item.fill = "Add the training and test data to the Data governance register."

    def _risks(self):
        item = self.item("5", source="Risk register (Art. 9); classification")
        rows = list(self._entries(RiskEntry).order_by("-likelihood", "title"))
        for r in rows:
            residual = r.residual_score if r.residual_score is not None else "not estimated"
            item.text.append(
                f"{r.title}: score {r.score}, residual {residual}, {r.get_status_display()}, "
                f"review {r.review_on:%Y-%m-%d}."
            )
        latest = self.system.classifications.first()
        if latest is not None:
            item.text.append(f"Classification #{latest.pk}: {' '.join(latest.reasons)}")
        if rows and latest is not None:
            item.status = FILLED
        else:
            item.fill = "Record the risks in the Risk register and classify the system."

    def _changes(self):
        item = self.item("6", source="versions; audit trail of the system")
        for v in sorted(self.versions, key=lambda v: v.created_at):
            item.text.append(
                f"{v.registered_model.name} v{v.version} registered {v.created_at:%Y-%m-%d}"
                f" ({stage_text(v)}): {v.description or 'no description'}"
            )
        events = AuditEvent.objects.filter(
            Q(target_type="aisystems.aisystem", target_id=str(self.system.pk))
        ).order_by("pk")[:50]
        for e in events:
            item.text.append(f"{e.occurred_at:%Y-%m-%d} {e.action} by {e.actor_username}")
        if self.versions:
            item.status = FILLED
        else:
            item.fill = "Add the models and versions the system is built from."

    def _conformity(self):
        return self._entries(Conformity).order_by("-updated_at").first()

    def _standards(self):
        entry = self._conformity()
        if entry is not None and entry.standards.strip():
            self.item("7", status=FILLED, text=[entry.standards], source="Conformity register")
        else:
            self.card_sections("7", "standards_applied")

    def _declaration(self):
        entry = self._conformity()
        item = self.item("8", source="Conformity register (Art. 47, Annex V)")
        if entry is not None and entry.declaration_signed_on:
            item.status = FILLED
            item.text = [
                f"Signed {entry.declaration_signed_on:%Y-%m-%d} by {entry.declaration_signatory}; "
                f"route {entry.get_route_display()}; CE marking {entry.get_ce_marking_display()}; "
                f"EU database {entry.eu_database_number or 'not registered yet'}."
            ]
        elif self.system.risk_class != RiskClass.HIGH:
            item.status = NOT_APPLICABLE
            item.reason = "Only high-risk AI systems need an EU declaration of conformity."
        else:
            item.fill = "Record the signed EU declaration in the Conformity register."

    def _monitoring(self):
        item = self.item("9", source="Post-market monitoring register (Art. 72)")
        rows = list(self._entries(MonitoringMetric).order_by("title"))
        for m in rows:
            item.text.append(f"{m.title} ({m.metric_key}), expected {m.bounds_text}: {m.plan}")
        if rows:
            item.status = FILLED
        else:
            item.fill = "Add the monitored metrics and the plan to Post-market monitoring."


def build(user, system: AISystem) -> list[Item]:
    return _Builder(user, system).build()


def completeness(items: list[Item]) -> tuple[int, int]:
    """(items filled or not applicable, all items)."""
    return sum(1 for i in items if i.status != MISSING), len(items)
