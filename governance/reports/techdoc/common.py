"""The technical documentation's layout, constants and the small helpers its sections share."""

import posixpath
import re

from django.utils import timezone

from governance.models import ComplianceDocument
from governance.reports.document import Section
from registry.cards import PLACEHOLDER, SECTIONS_BY_KEY, card_of, clean_text
from registry.models import ModelVersion, RegisteredModel, Stage

KIND = "technical_documentation"
DECLARATION = ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY
STAGE_CHANGE_ACTIONS = ("transition.approve", "version.archive", "version.emergency_rollback")
ACTION_LABELS = {
    "transition.approve": "Approved transition",
    "version.archive": "Archived",
    "version.emergency_rollback": "Emergency rollback",
}
# Parameters that record a library's version: "sklearn_version", "python.version", or a
# value shaped like a release number with at least three parts ("1.26.4", "v2.1.0+cu121").
_VERSION_KEY_RE = re.compile(r"(^|[._-])(version|ver)$", re.IGNORECASE)
_VERSION_VALUE_RE = re.compile(r"^v?\d+\.\d+\.\d+(?:[.+-][0-9A-Za-z.+-]*)?$")
_REMOVED_USER = "a removed user"

# Section and item keys, in order (the lead's docs/reports.md documents them).
LAYOUT = (
    (
        "general_description",
        ("intended_purpose", "provider", "versions", "software", "delivery"),
    ),
    (
        "development",
        (
            "methods",
            "design",
            "training_data",
            "human_oversight_assessment",
            "validation",
            "cybersecurity",
        ),
    ),
    (
        "monitoring",
        (
            "capabilities",
            "limitations",
            "group_performance",
            "foreseeable_risks",
            "oversight_measures",
        ),
    ),
    ("metrics", ("metrics_appropriateness",)),
    ("risk_management", ("risk_class", "risk_management_measures")),
    (
        "lifecycle_changes",
        ("version_history", "transition_requests", "decisions", "stage_changes"),
    ),
    ("standards", ("standards_applied",)),
    ("declaration_of_conformity", ("declaration",)),
    ("post_market_monitoring", ("monitoring_plan",)),
)


# --- Small helpers ----------------------------------------------------------------------


def iso_time(value):
    """A timestamp as ISO 8601 in the current zone, to the second (None stays None)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def stage_label(stage) -> str | None:
    """A stage as the document prints it: "no stage" for a version in none (the stage is
    called "None", which reads as a value left out), the stage's name otherwise."""
    if stage is None or stage == "":
        return None
    return "no stage" if stage == Stage.NONE else str(stage)


def username(user) -> str:
    return user.get_username() if user is not None else _REMOVED_USER


def card_texts(card) -> dict[str, str]:
    """The card's sections with placeholder lines ("[More Information Needed]") removed."""
    texts = {}
    for key, text in (card.sections or {}).items():
        if key not in SECTIONS_BY_KEY:
            continue
        kept = "\n".join(
            line for line in clean_text(text).split("\n") if line.strip() != PLACEHOLDER
        )
        kept = clean_text(kept)
        if kept:
            texts[key] = kept
    return texts


def _titles(keys) -> list[str]:
    return [SECTIONS_BY_KEY[k].title for k in keys]


def _card_source(*keys) -> str:
    return "model card: " + ", ".join(_titles(keys))


def card_fill(*keys) -> str:
    titles = _titles(keys)
    if len(titles) == 1:
        return f"Fill the model card's {titles[0]} section."
    return f"Fill the model card's {', '.join(titles[:-1])} and {titles[-1]} sections."


def add_card_text(item, texts: dict, keys, *, label_each: bool | None = None) -> None:
    """The card sections as markdown blocks; with several, each starts with its title."""
    label_each = len(keys) > 1 if label_each is None else label_each
    for key in keys:
        text = texts.get(key)
        if text:
            item.markdown(f"**{SECTIONS_BY_KEY[key].title}**\n\n{text}" if label_each else text)


def card_item(section: Section, key: str, title: str, texts: dict, *card_keys):
    item = section.item(key, title, source=_card_source(*card_keys), fill=card_fill(*card_keys))
    add_card_text(item, texts, card_keys)
    return item


def looks_like_library_version(key: str, value: str) -> bool:
    value = (value or "").strip()
    return bool(value) and (
        bool(_VERSION_KEY_RE.search(key)) or bool(_VERSION_VALUE_RE.match(value))
    )


def file_format(artifact) -> str:
    name = artifact.path.rsplit("/", 1)[-1]
    if name == "MLmodel":
        return "MLflow model descriptor"
    ext = posixpath.splitext(name)[1].lstrip(".").lower()
    return ext or artifact.content_type or "file"


def scan_result(artifact) -> str:
    findings = len(artifact.scan_findings or [])
    label = artifact.get_scan_status_display()
    return f"{label} ({findings} finding{'' if findings == 1 else 's'})" if findings else label


def visible_versions(user, model: RegisteredModel):
    """The model's versions, oldest first, if the user may see the model (one restricted
    row, so the query stays on the (registered_model, version) index)."""
    visible = RegisteredModel.objects.restrict(user, "view", few_rows=True).filter(pk=model.pk)
    return (
        ModelVersion.objects.filter(registered_model__in=visible.values("pk"))
        .select_related("created_by", "card")
        .order_by("version")
    )


def card_state(version) -> str:
    card = card_of(version)
    if card.pk is None:
        return "no card"
    if card.carried_over:
        return f"carried over from v{card.carried_from_version}"
    return f"own card (revision {card.revision_count})"
