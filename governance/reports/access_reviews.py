"""Access reviews in the audit report (a section) and the evidence bundle
(access-reviews.json): who confirmed or revoked what, and when.

Rows are permission-filtered: grants only on models the reader may view (and in the
report's scope); role memberships and service accounts only for auditors and registry
admins, and only in a report not narrowed to a model or team."""

import json

from django.db.models import Q

from governance import access
from governance.models import AccessReview, AccessReviewItem
from registry.models import RegisteredModel

SECTION = "access_reviews"
COLUMNS = ["Review", "Who", "What", "Account expires", "Decision", "By", "When", "Note"]


def _items(user, *, model=None, team=None, registry_wide=True):
    viewable = RegisteredModel.objects.restrict(user, "view")
    if model is not None:
        viewable = viewable.filter(pk=model.pk)
    if team is not None:
        viewable = viewable.filter(team=team)
    rows = Q(kind=AccessReviewItem.Kind.GRANT, registered_model__in=viewable.values("pk"))
    if registry_wide and (access.is_auditor(user) or access.is_registry_admin(user)):
        rows |= ~Q(kind=AccessReviewItem.Kind.GRANT)
    return AccessReviewItem.objects.filter(rows).select_related(
        "review", "decided_by", "registered_model", "group"
    )


def _row(item) -> list:
    return [
        str(item.review),
        item.holder,
        item.describe(),
        item.account_expires_at.date().isoformat() if item.account_expires_at else "",
        item.get_decision_display(),
        item.decided_by.get_username() if item.decided_by else "",
        item.decided_at.isoformat(timespec="seconds") if item.decided_at else "",
        item.note,
    ]


def audit_report_section(doc, *, user, scope, now, csv) -> None:
    """Section "Access reviews": the reviews opened in the period and every item of them
    the reader may see, with its decision."""
    start, end = scope.period_bounds()
    reviews = AccessReview.objects.all()
    if start is not None:
        reviews = reviews.filter(opened_at__gte=start)
    if end is not None:
        reviews = reviews.filter(opened_at__lt=end)
    section = doc.section(
        SECTION,
        "Access reviews",
        intro="The periodic reviews opened in the period: every grant, role membership and "
        "service account, confirmed or revoked by someone allowed to revoke it.",
    )
    section.item("reviews", "Reviews", source="access reviews").table(
        ["Review", "Opened", "Due", "Status"],
        [
            [str(r), r.opened_at.date().isoformat(), r.due_at.date().isoformat(), r.status]
            for r in reviews
        ],
        empty="No access review opened in the period.",
    )
    narrowed = scope.model is not None or scope.team is not None
    items = _items(user, model=scope.model, team=scope.team, registry_wide=not narrowed).filter(
        review__in=reviews
    )
    rows = [_row(i) for i in items.order_by("review_id", "kind", "holder", "pk")]
    section.item("items", "Decisions", source="access review items").table(
        COLUMNS, rows, empty="Nothing to show."
    )
    for item, row in zip(items.order_by("review_id", "kind", "holder", "pk"), rows, strict=True):
        csv.append(
            [
                SECTION,
                row[6],
                item.registered_model.name if item.registered_model_id else "",
                "",
                f"access_review.{item.decision}",
                row[5],
                item.decision,
                item.describe(),
            ]
        )


def bundle_members(*, user, version) -> list[tuple[str, bytes]]:
    """access-reviews.json: every review's items about the version's model."""
    items = _items(user, model=version.registered_model, registry_wide=False)
    data = [
        dict(
            zip(
                ["review", "who", "what", "account_expires", "decision", "by", "when", "note"],
                _row(i),
                strict=True,
            )
        )
        for i in items.order_by("review_id", "holder", "pk")
    ]
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return [("access-reviews.json", body.encode())]
