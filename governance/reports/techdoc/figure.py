"""The one Annex IV completeness figure of a version: the items of its technical
documentation (this package's `build`) that the record fills, out of all of them.

The technical documentation's cover, the model inventory and the Production gate of
high-risk models (governance/annex_gate.py) all take it from `annex_iv_completeness`, so
they cannot disagree. It is a figure of the record, not of a reader's view: it is built
with `RECORD_READER`, an unsaved superuser that `restrict()` lets see every row (never
saved, never signed in, used for nothing else). A reader who may view the model sees the
same rows of it, so the figure on their cover is the same number.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone

# Annex IV items a notified body cannot do without: the default of the high-risk
# Production policy's "required Annex IV items" (governance/roles.py, migration 0016).
DEFAULT_REQUIRED_ITEMS = (
    "intended_purpose",
    "provider",
    "versions",
    "methods",
    "design",
    "training_data",
    "validation",
    "human_oversight_assessment",
    "foreseeable_risks",
    "oversight_measures",
    "metrics_appropriateness",
    "risk_management_measures",
    "standards_applied",
    "monitoring_plan",
)


def _record_reader():
    return get_user_model()(username="", is_superuser=True, is_active=True)


def annex_iv_document(version):
    """The version's technical documentation as the record stands (not stored)."""
    from governance.reports.scope import ReportScope
    from governance.reports.techdoc import build

    return build(
        user=_record_reader(),
        scope=ReportScope(model=version.registered_model, version=version),
        progress=lambda *args: None,
        now=timezone.now(),
    )


def annex_iv_completeness(version) -> dict:
    """`Document.completeness()` of the version's technical documentation: items,
    present, score and the missing items (each with its key, title and filler)."""
    return annex_iv_document(version).completeness()


def completeness_text(completeness: dict | None) -> str | None:
    """The figure as every page prints it: "21 of 26 Annex IV items present (80%)"."""
    if completeness is None:
        return None
    return (
        f"{completeness['present']} of {completeness['items']} Annex IV items present "
        f"({completeness['score']}%)"
    )
