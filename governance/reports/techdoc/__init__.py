"""Technical documentation of one version, in the order of EU AI Act Annex IV.

Each of Annex IV's nine points is a section; each thing the point asks for is an item,
filled from the record: the model card (registry/cards/), the version's lineage,
metrics, parameters and artifacts, the approvals and stage changes (transition requests,
decisions and the audit trail) and the uploaded declaration of conformity. An item the
record cannot fill stays in the document with no blocks, so it is printed as missing with
what would fill it; nothing is ever dropped, and the keys below are stable (docs/reports.md
lists them).

Everything listed is read through `restrict(user, 'view')`; the version itself was
resolved under the requester's permissions before the builder was called.

The package keeps one module per group of sections: common.py (the layout, constants and
helpers), description.py (point 1), development.py (2), operation.py (3 to 5),
lifecycle.py (6) and closing.py (7 to 9); this module assembles them in `build`.
"""

from django.utils import timezone

from governance import selectors
from governance.reports.document import Document
from governance.reports.scope import ReportScope
from governance.reports.techdoc.closing import _declaration, _post_market, _standards
from governance.reports.techdoc.common import (
    ACTION_LABELS,
    DECLARATION,
    KIND,
    LAYOUT,
    STAGE_CHANGE_ACTIONS,
    card_texts,
    stage_label,
    visible_versions,
)
from governance.reports.techdoc.description import _general_description
from governance.reports.techdoc.development import _development
from governance.reports.techdoc.figure import completeness_text, record_reader
from governance.reports.techdoc.lifecycle import _lifecycle_changes
from governance.reports.techdoc.operation import _metrics, _monitoring, _risk_management
from registry.cards import card_of, clean_metadata

# --- The builder ------------------------------------------------------------------------


def build(*, user, scope, progress, now) -> Document:
    version = scope.version
    model = version.registered_model
    progress(5, "Reading the version and its model card")
    card = card_of(version)
    texts = card_texts(card)
    metadata = clean_metadata(card.metadata)
    metrics = list(version.metrics.all())
    params = list(version.params.all())
    artifacts = list(version.artifacts.all())
    versions = list(visible_versions(user, model))
    declaration = selectors.compliance_documents(user, version, kind=DECLARATION).first()

    doc = Document(
        kind=KIND,
        title=f"Technical documentation: {model.name} v{version.version}",
        subject=f"{model.name} version {version.version}, in the order of EU AI Act Annex IV",
        scope=scope.as_json(),
        generated_by=user.get_username(),
        generated_at=now,
    )
    doc.fact("Model", model.name)
    doc.fact("Version", version.version)
    doc.fact("Stage", stage_label(version.stage))
    doc.fact("Risk class", model.get_risk_class_display())
    doc.fact("Owning team", model.team.name)
    # The Annex IV figure is filled in once the items are built (below); the card's own
    # score is not printed beside it, so the cover has one completeness figure.
    doc.fact("Annex IV completeness", "")
    figure_at = len(doc.facts) - 1
    doc.fact("Declaration of conformity", "uploaded" if declaration else "missing")

    ctx = {
        "user": user,
        "model": model,
        "version": version,
        "card": card,
        "texts": texts,
        "metadata": metadata,
        "metrics": metrics,
        "params": params,
        "artifacts": artifacts,
        "versions": versions,
        "declaration": declaration,
    }
    _general_description(doc, ctx)
    progress(25, "General description done; describing the development")
    _development(doc, ctx)
    progress(45, "Development done; monitoring, metrics and risk management")
    _monitoring(doc, ctx)
    _metrics(doc, ctx)
    _risk_management(doc, ctx)
    progress(65, "Reading the approvals and stage changes")
    _lifecycle_changes(doc, ctx)
    progress(85, "Standards, declaration of conformity and post-market monitoring")
    _standards(doc, ctx)
    _declaration(doc, ctx)
    _post_market(doc, ctx)
    doc.facts[figure_at][1] = completeness_text(doc.completeness())
    progress(95, "Technical documentation assembled")
    return doc


def annex_iv_document(version):
    """The version's technical documentation as the record stands (not stored)."""
    return build(
        user=record_reader(),
        scope=ReportScope(model=version.registered_model, version=version),
        progress=lambda *args: None,
        now=timezone.now(),
    )


def annex_iv_completeness(version) -> dict:
    """`Document.completeness()` of the version's technical documentation: items,
    present, score and the missing items (each with its key, title and filler)."""
    return annex_iv_document(version).completeness()


__all__ = [
    "ACTION_LABELS",
    "DECLARATION",
    "KIND",
    "LAYOUT",
    "STAGE_CHANGE_ACTIONS",
    "annex_iv_completeness",
    "build",
]
