"""Annex IV points 7 to 9: standards applied, the declaration of conformity, post-market
monitoring.
"""

from governance.reports.document import Document
from governance.reports.techdoc.common import card_item, iso_time

# --- 7-9. Standards, declaration, post-market monitoring ---------------------------------


def _standards(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "standards",
        "Harmonised standards and specifications applied",
        intro="Annex IV point 7: the harmonised standards applied in full or in part, or the "
        "other solutions and specifications used to meet the requirements.",
    )
    card_item(
        section,
        "standards_applied",
        "Standards and specifications",
        ctx["texts"],
        "standards_applied",
    )


def _declaration(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "declaration_of_conformity",
        "EU declaration of conformity",
        intro="Annex IV point 8: a copy of the EU declaration of conformity (Article 47).",
    )
    item = section.item(
        "declaration",
        "Declaration of conformity",
        source="compliance documents: EU declaration of conformity (newest upload)",
        fill="Upload the signed EU declaration of conformity (PDF) on the version page, in "
        "its Compliance panel.",
    )
    document = ctx["declaration"]
    if document is not None:
        item.fields(
            [
                ("File", document.filename),
                ("SHA-256", document.sha256),
                ("Size (bytes)", document.size),
                ("Uploaded by", document.uploaded_by_username),
                ("Uploaded at", iso_time(document.uploaded_at)),
            ]
        )
        item.text(
            "The signed PDF is kept in Attest with this hash; download it from the version "
            "page (downloads are recorded in the audit trail)."
        )


def _post_market(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "post_market_monitoring",
        "Post-market monitoring",
        intro="Annex IV point 9 and Article 72: how performance is evaluated once the system "
        "is in use, including the post-market monitoring plan.",
    )
    card_item(
        section,
        "monitoring_plan",
        "Post-market monitoring plan",
        ctx["texts"],
        "post_market_monitoring",
    )
