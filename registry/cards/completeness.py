"""Which sections are required, whether a card is complete, a version's card and its lock."""

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from registry.cards.schema import (
    PLACEHOLDER,
    SECTION_KEYS,
    SECTIONS,
    SECTIONS_BY_KEY,
    Section,
    clean_text,
)
from registry.models import ModelCard, Stage

# --- Completeness -----------------------------------------------------------------------


def required_section_keys() -> list[str]:
    keys = list(getattr(settings, "ATTEST_MODEL_CARD_REQUIRED_SECTIONS", []))
    unknown = [k for k in keys if k not in SECTIONS_BY_KEY]
    if unknown:
        raise ImproperlyConfigured(
            f"ATTEST_MODEL_CARD_REQUIRED_SECTIONS names unknown sections: {', '.join(unknown)}. "
            f"Known: {', '.join(SECTION_KEYS)}."
        )
    return list(dict.fromkeys(keys))


@checks.register()
def check_required_sections(app_configs=None, **kwargs):
    try:
        required_section_keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="registry.E001")]
    return []


def _has_text(text) -> bool:
    return bool(clean_text(str(text or "").replace(PLACEHOLDER, "")))


def section_filled(key: str, sections: dict, metadata: dict, *, has_slices: bool) -> bool:
    if _has_text(sections.get(key)):
        return True
    if key == "model_details":
        return all(metadata.get(k) for k in ("developers", "model_type", "license"))
    if key == "quantitative_analyses":
        return has_slices
    return False


@dataclass
class Completeness:
    required: list[Section]
    missing: list[Section]
    filled_sections: list[Section] = field(default_factory=list)

    @property
    def filled_required(self) -> int:
        return len(self.required) - len(self.missing)

    @property
    def score(self) -> int:
        """Percentage of the required sections that are filled."""
        if not self.required:
            return 100
        return math.floor(100 * self.filled_required / len(self.required))

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing_titles(self) -> list[str]:
        return [s.title for s in self.missing]


def completeness_of(sections: dict, metadata: dict, *, has_slices: bool) -> Completeness:
    sections, metadata = sections or {}, metadata or {}
    filled = [
        s for s in SECTIONS if section_filled(s.key, sections, metadata, has_slices=has_slices)
    ]
    filled_keys = {s.key for s in filled}
    required = [SECTIONS_BY_KEY[k] for k in required_section_keys()]
    return Completeness(
        required=required,
        missing=[s for s in required if s.key not in filled_keys],
        filled_sections=filled,
    )


def has_sliced_metrics(metrics) -> bool:
    return any(m.dataset for m in metrics)


def card_completeness(card: ModelCard, metrics=None) -> Completeness:
    """The completeness of `card`; `metrics` are its version's (loaded if not given)."""
    if metrics is None:
        metrics = card.model_version.metrics.all()
    return completeness_of(card.sections, card.metadata, has_slices=has_sliced_metrics(metrics))


def card_of(version) -> ModelCard:
    """The version's card, or an unsaved empty one (versions from before model cards)."""
    try:
        return version.card
    except ModelCard.DoesNotExist:
        return ModelCard(model_version=version)


def version_card_completeness(version) -> Completeness:
    """What the "model card complete" gate asks, from the card as stored now."""
    card = ModelCard.objects.filter(model_version_id=version.pk).first()
    return card_completeness(card or ModelCard(model_version=version), version.metrics.all())


def card_locked(version) -> bool:
    """A card is frozen once its version has been approved for Production."""
    return version.production_approved_at is not None or version.stage == Stage.PRODUCTION
