"""Access reviews: every grant on a model, every role membership and every service account,
confirmed or revoked by someone allowed to revoke it, on a schedule.

- `review_open` takes a snapshot of what is held (one item each) and gives it a due date
  (`ATTEST_ACCESS_REVIEW_DUE_DAYS`); `review_tick` (Celery beat, daily) opens one when the
  last is older than `ATTEST_ACCESS_REVIEW_INTERVAL_DAYS` (quarterly by default) and emails
  the reviewers of pending items of an open or overdue review, at most every
  `ATTEST_ACCESS_REVIEW_REMIND_DAYS`.
- Who decides an item is who may revoke it: a grant, whoever the grant service lets
  revoke it (the model's managers and registry admins; approve only registry admins and
  Compliance: separation of duties holds); a role membership, registry admins; a service
  account, its team's managers and registry admins. Nobody confirms their own access.
- Revoking goes through the grant service (grant.revoke), removes the membership, or
  deactivates the service account, with an access_review.revoke event in the same
  transaction; confirming records access_review.confirm."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.dispatch import job_queue
from governance import access, audit
from governance.models import AccessReview, AccessReviewItem, ServiceAccount
from governance.services import grants, service_accounts
from registry.models import RegisteredModel
from registry.models.records import (
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
)

Item = AccessReviewItem
REMIND_TASK = "governance.tasks.access_review_remind"
EVENTS = {
    AccessReviewItem.Decision.CONFIRMED: "access_review.confirm",
    AccessReviewItem.Decision.REVOKED: "access_review.revoke",
}


def _expiry(user):
    expiry = getattr(user, "account_expiry", None)
    return expiry.expires_at if expiry else None


def _holder(user) -> str:
    name = user.get_username()
    if getattr(user, "service_account", None) is not None:
        return f"{name} (service account)"
    return f"{name} (auditor)" if access.is_auditor(user) else name


def _snapshot_items(review: AccessReview) -> list[Item]:
    items = []
    action_of = {access.codename(a, RegisteredModel): a for a in access.ACTIONS}
    user_grants = RegisteredModelUserObjectPermission.objects.select_related(
        "user__account_expiry", "user__service_account", "permission", "content_object"
    )
    for g in user_grants:
        if g.permission.codename in action_of:
            items.append(
                Item(
                    review=review,
                    kind=Item.Kind.GRANT,
                    user=g.user,
                    registered_model=g.content_object,
                    permission=action_of[g.permission.codename],
                    holder=_holder(g.user),
                    account_expires_at=_expiry(g.user),
                )
            )
    group_grants = RegisteredModelGroupObjectPermission.objects.select_related(
        "group", "permission", "content_object"
    )
    for g in group_grants:
        if g.permission.codename in action_of:
            items.append(
                Item(
                    review=review,
                    kind=Item.Kind.GRANT,
                    group=g.group,
                    registered_model=g.content_object,
                    permission=action_of[g.permission.codename],
                    holder=f"group {g.group.name}",
                )
            )
    members = (
        get_user_model()
        .groups.through.objects.filter(group__name__in=access.SYSTEM_GROUPS)
        .select_related("user__account_expiry", "user__service_account", "group")
    )
    for m in members:
        items.append(
            Item(
                review=review,
                kind=Item.Kind.MEMBERSHIP,
                user=m.user,
                group=m.group,
                holder=_holder(m.user),
                account_expires_at=_expiry(m.user),
            )
        )
    for account in ServiceAccount.objects.filter(user__is_active=True).select_related(
        "user", "team"
    ):
        items.append(
            Item(
                review=review,
                kind=Item.Kind.SERVICE_ACCOUNT,
                user=account.user,
                group=account.team,
                holder=_holder(account.user),
            )
        )
    return items


def review_open(*, actor=None) -> AccessReview:
    """Open a review of everything held now; actor None is the schedule."""
    if actor is not None and not access.is_registry_admin(actor):
        raise PermissionDenied("Only registry admins open an access review.")
    with transaction.atomic():
        if AccessReview.objects.select_for_update().filter(closed_at__isnull=True).exists():
            raise ValidationError("An access review is already open: finish it first.")
        now = timezone.now()
        review = AccessReview.objects.create(
            opened_at=now,
            due_at=now + timedelta(days=settings.ATTEST_ACCESS_REVIEW_DUE_DAYS),
            opened_by=actor,
        )
        items = AccessReviewItem.objects.bulk_create(_snapshot_items(review))
        audit.record(
            actor=actor or "system:access-review",
            action="access_review.open",
            target=review,
            after={"items": len(items), "due_at": review.due_at},
        )
    return review


def _may_decide(actor, item: Item) -> bool:
    if item.kind == Item.Kind.GRANT:
        return grants.may_grant(actor, item.registered_model, item.permission)
    if item.kind == Item.Kind.SERVICE_ACCOUNT:
        return service_accounts.may_manage(actor, item.group)
    return access.is_registry_admin(actor)


def items_for(actor, review: AccessReview):
    """The review's items `actor` decides (what their page lists)."""
    items = review.items.select_related("user", "group", "registered_model", "decided_by")
    if access.is_registry_admin(actor):
        return items
    managed = RegisteredModel.objects.restrict(actor, "manage").values("pk")
    mine = Q(kind=Item.Kind.GRANT, registered_model__in=managed) & ~Q(permission="approve")
    if access.may_grant_approve(actor):
        viewable = RegisteredModel.objects.restrict(actor, "view").values("pk")
        mine |= Q(kind=Item.Kind.GRANT, permission="approve", registered_model__in=viewable)
    mine |= Q(kind=Item.Kind.SERVICE_ACCOUNT, group__in=service_accounts.managed_teams(actor))
    return items.filter(mine)


def _decidable(actor, item: Item) -> Item:
    if not _may_decide(actor, item):
        raise PermissionDenied("You cannot decide this item: you could not revoke it.")
    item = Item.objects.select_for_update().select_related("review").get(pk=item.pk)
    if item.review.closed_at:
        raise ValidationError("This access review is closed.")
    if item.decision != Item.Decision.PENDING:
        raise ValidationError(f"Already {item.get_decision_display().lower()}: nothing changed.")
    return item


def _decide(actor, item: Item, decision: str, note: str) -> None:
    item.decision = decision
    item.decided_by = actor
    item.decided_at = timezone.now()
    item.note = (note or "").strip()[:500]
    item.save(update_fields=["decision", "decided_by", "decided_at", "note"])
    audit.record(
        actor=actor,
        action=EVENTS[decision],
        target=item.review,
        after={"item": item.pk, "what": item.describe(), "decision": decision, "note": item.note},
        registered_model_id=item.registered_model_id,
    )


def item_confirm(*, actor, item: Item, note: str = "") -> Item:
    if item.user_id and item.user_id == actor.pk:
        raise PermissionDenied("Nobody confirms their own access: another reviewer does.")
    with transaction.atomic():
        item = _decidable(actor, item)
        _decide(actor, item, Item.Decision.CONFIRMED, note)
    return item


def item_revoke(*, actor, item: Item, note: str = "") -> Item:
    """Revoke what the item names, through the service that owns it, and record it."""
    with transaction.atomic():
        item = _decidable(actor, item)
        if item.kind == Item.Kind.GRANT:
            try:
                grants.grant_revoke(
                    actor=actor,
                    registered_model=item.registered_model,
                    action=item.permission,
                    user=item.user,
                    group=None if item.user_id else item.group,
                )
            except ValidationError as exc:
                if "nothing to revoke" not in " ".join(exc.messages):
                    raise  # the last manager, say: the reviewer sees why
        elif item.kind == Item.Kind.MEMBERSHIP:
            item.user.groups.remove(item.group)
        else:
            account = ServiceAccount.objects.select_related("user", "team").get(user=item.user)
            if account.user.is_active:
                service_accounts.service_account_deactivate(actor=actor, account=account)
        _decide(actor, item, Item.Decision.REVOKED, note)
    return item


def review_close(*, actor, review: AccessReview) -> AccessReview:
    if not access.is_registry_admin(actor):
        raise PermissionDenied("Only registry admins close an access review.")
    with transaction.atomic():
        review = AccessReview.objects.select_for_update().get(pk=review.pk)
        if review.closed_at:
            raise ValidationError("This access review is already closed.")
        pending = review.items.filter(decision=Item.Decision.PENDING).count()
        if pending:
            raise ValidationError(f"{pending} item(s) are still pending.")
        review.closed_at = timezone.now()
        review.save(update_fields=["closed_at"])
        audit.record(actor=actor, action="access_review.close", target=review)
    return review


def review_report(review: AccessReview) -> dict:
    """Who confirmed or revoked what, and when: for the audit report and evidence bundle."""
    rows = [
        {
            "kind": i.kind,
            "holder": i.holder,
            "what": i.describe(),
            "account_expires_at": i.account_expires_at.isoformat()
            if i.account_expires_at
            else None,
            "decision": i.decision,
            "decided_by": i.decided_by.get_username() if i.decided_by else None,
            "decided_at": i.decided_at.isoformat() if i.decided_at else None,
            "note": i.note,
        }
        for i in review.items.select_related("decided_by", "registered_model", "group")
    ]
    return {
        "review": review.pk,
        "opened_at": review.opened_at.isoformat(),
        "due_at": review.due_at.isoformat(),
        "closed_at": review.closed_at.isoformat() if review.closed_at else None,
        "status": review.status,
        "items": rows,
    }


def reviewers_of_pending(review: AccessReview) -> list:
    """Everyone with a pending item to decide, with an e-mail address (for reminders)."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    pending = list(
        review.items.filter(decision=Item.Decision.PENDING).select_related(
            "registered_model", "group"
        )
    )
    return [u for u in users if any(_may_decide(u, i) for i in pending)]


def review_tick(*, now=None) -> AccessReview | None:
    """The schedule: open a review when due, queue reminders for the open one."""
    now = now or timezone.now()
    last = AccessReview.objects.order_by("-opened_at").first()
    interval = timedelta(days=settings.ATTEST_ACCESS_REVIEW_INTERVAL_DAYS)
    if last is None or (last.closed_at and last.opened_at + interval <= now):
        return review_open()
    remind_every = timedelta(days=settings.ATTEST_ACCESS_REVIEW_REMIND_DAYS)
    if last.closed_at is None and (
        last.last_reminded_at is None or last.last_reminded_at + remind_every <= now
    ):
        with transaction.atomic():
            AccessReview.objects.filter(pk=last.pk).update(last_reminded_at=now)
            job_queue(task=REMIND_TASK, kind="notification", result={"review": last.pk})
    return None
