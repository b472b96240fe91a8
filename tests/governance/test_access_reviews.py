"""Issue 20: periodic access reviews.

The attackers: a model manager who confirms their own access or decides items they could
not revoke (another team's model, an approve grant, a role membership) to make a review
look done; a review that revokes around the grant service and so around separation of
duties or the last-manager rule."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from governance import access
from governance.models import AccessReview, AccessReviewItem, AccountExpiry, AuditEvent
from governance.services.access_reviews import (
    item_confirm,
    item_revoke,
    items_for,
    review_close,
    review_open,
    review_report,
    review_tick,
)
from governance.services.grants import _holds
from governance.services.service_accounts import service_account_create
from tests.factories import make_model, make_team, make_user

pytestmark = pytest.mark.django_db
Item = AccessReviewItem


@pytest.fixture
def celery_eager():
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def world():
    fraud, credit = make_team("Fraud analytics"), make_team("Credit risk")
    dana = make_user("dana", access.ROLE_DATA_SCIENTISTS, fraud.name)
    model = make_model(dana, name="fraud-detector", team=fraud)
    sam = make_user("sam", access.ROLE_DATA_SCIENTISTS, fraud.name)
    access.grant(model, "change", user=sam)
    avery = make_user("avery", access.ROLE_APPROVERS)
    access.grant(model, "approve", user=avery)
    olga = make_user("olga", access.ROLE_DATA_SCIENTISTS, credit.name)
    other = make_model(olga, name="credit-scorer", team=credit)
    aude = make_user("aude", access.ROLE_AUDITORS)
    AccountExpiry.objects.create(user=aude, expires_at=timezone.now() + timedelta(days=30))
    access.grant(model, "view", user=aude)
    admin = make_user("ada", access.ROLE_REGISTRY_ADMINS)
    svc = service_account_create(actor=dana, team=fraud, username="svc-fraud-training")
    review = review_open(actor=admin)
    return locals()


def _item(review, **kw):
    return review.items.get(**kw)


def test_the_review_lists_every_grant_membership_and_service_account(world):
    review = world["review"]
    what = {i.describe() for i in review.items.all()}
    assert "sam: change on fraud-detector" in what
    assert "avery: approve on fraud-detector" in what
    assert "dana: manage on fraud-detector" in what
    assert "olga: manage on credit-scorer" in what
    assert "ada: member of Registry admins" in what
    assert "svc-fraud-training (service account): service account of Fraud analytics" in what
    auditor = _item(review, kind=Item.Kind.GRANT, user=world["aude"])
    assert auditor.holder == "aude (auditor)"
    assert auditor.account_expires_at == world["aude"].account_expiry.expires_at
    assert AuditEvent.objects.filter(action="access_review.open").count() == 1
    with pytest.raises(ValidationError):  # one open review at a time
        review_open(actor=world["admin"])
    with pytest.raises(PermissionDenied):
        review_open(actor=world["dana"])


def test_a_manager_decides_only_what_they_could_revoke(world):
    review, dana = world["review"], world["dana"]
    mine = {i.describe() for i in items_for(dana, review)}
    assert "sam: change on fraud-detector" in mine
    assert "svc-fraud-training (service account): service account of Fraud analytics" in mine
    assert "avery: approve on fraud-detector" not in mine  # separation of duties
    assert "olga: manage on credit-scorer" not in mine
    assert not any("member of" in m for m in mine)
    for forbidden in (
        _item(review, user=world["avery"], permission="approve"),
        _item(review, user=world["olga"], permission="manage"),
        _item(review, kind=Item.Kind.MEMBERSHIP, user=world["admin"]),
    ):
        with pytest.raises(PermissionDenied):
            item_confirm(actor=dana, item=forbidden)
        with pytest.raises(PermissionDenied):
            item_revoke(actor=dana, item=forbidden)
    assert not review.items.exclude(decision="pending").exists()


def test_nobody_confirms_their_own_access(world):
    own = _item(world["review"], user=world["dana"], permission="manage")
    with pytest.raises(PermissionDenied):
        item_confirm(actor=world["dana"], item=own)
    admin_membership = _item(world["review"], kind=Item.Kind.MEMBERSHIP, user=world["admin"])
    with pytest.raises(PermissionDenied):
        item_confirm(actor=world["admin"], item=admin_membership)


def test_confirming_is_audited_and_happens_once(world):
    item = _item(world["review"], user=world["sam"], permission="change")
    item_confirm(actor=world["dana"], item=item, note="still on the team")
    item.refresh_from_db()
    assert (item.decision, item.decided_by, item.note) == (
        "confirmed",
        world["dana"],
        "still on the team",
    )
    event = AuditEvent.objects.get(action="access_review.confirm")
    assert event.after["what"] == "sam: change on fraud-detector"
    with pytest.raises(ValidationError):
        item_revoke(actor=world["dana"], item=item)


def test_revoking_a_grant_goes_through_the_grant_service(world):
    model, sam = world["model"], world["sam"]
    item = _item(world["review"], user=sam, permission="change")
    item_revoke(actor=world["dana"], item=item)
    assert not _holds(model, "change", user=sam)  # (the team's group grant is its own item)
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["grant.revoke", "access_review.revoke"]


def test_the_last_manager_rule_holds_in_a_review(world):
    item = _item(world["review"], user=world["dana"], permission="manage")
    with pytest.raises(ValidationError, match="last manager"):
        item_revoke(actor=world["admin"], item=item)
    item.refresh_from_db()
    assert item.decision == "pending"
    assert access.allows(world["dana"], world["model"], "manage")


def test_approve_is_revoked_only_by_admins_or_compliance(world):
    item = _item(world["review"], user=world["avery"], permission="approve")
    with pytest.raises(PermissionDenied):
        item_revoke(actor=world["dana"], item=item)
    item_revoke(actor=world["admin"], item=item)
    assert not access.allows(world["avery"], world["model"], "approve")


def test_revoking_a_membership_and_a_service_account(world):
    review, admin = world["review"], world["admin"]
    item_revoke(actor=admin, item=_item(review, kind=Item.Kind.MEMBERSHIP, user=world["avery"]))
    assert not world["avery"].groups.filter(name=access.ROLE_APPROVERS).exists()
    item_revoke(actor=world["dana"], item=_item(review, kind=Item.Kind.SERVICE_ACCOUNT))
    world["svc"].user.refresh_from_db()
    assert not world["svc"].user.is_active
    assert AuditEvent.objects.filter(action="service_account.deactivate").count() == 1


def test_overdue_close_and_report(world):
    review = world["review"]
    assert review.status == "open"
    AccessReview.objects.filter(pk=review.pk).update(due_at=timezone.now() - timedelta(days=1))
    review.refresh_from_db()
    assert review.status == "overdue"
    with pytest.raises(ValidationError, match="pending"):
        review_close(actor=world["admin"], review=review)
    item_confirm(actor=world["dana"], item=_item(review, user=world["sam"], permission="change"))
    report = review_report(review)
    row = next(r for r in report["items"] if r["what"] == "sam: change on fraud-detector")
    assert row["decision"] == "confirmed" and row["decided_by"] == "dana" and row["decided_at"]
    aude = next(r for r in report["items"] if r["holder"] == "aude (auditor)")
    assert aude["account_expires_at"]
    # The admin's own membership is confirmed by another admin.
    other_admin = make_user("root", access.ROLE_REGISTRY_ADMINS)
    for item in review.items.filter(decision="pending"):
        item_confirm(actor=other_admin, item=item)
    closed = review_close(actor=world["admin"], review=review)
    assert review_report(closed)["status"] == "closed"


def test_the_schedule_opens_quarterly_and_reminds(
    world, mailoutbox, django_capture_on_commit_callbacks, celery_eager
):
    world["sam"].email = ""
    world["sam"].save()
    with django_capture_on_commit_callbacks(execute=True):
        assert review_tick() is None  # the open review: reminders instead
    recipients = sorted(to for m in mailoutbox for to in m.to)
    assert "dana@example.com" in recipients and "ada@example.com" in recipients
    assert "sam@example.com" not in recipients and "olga@example.com" in recipients
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert review_tick() is None  # reminded already this week
    assert not mailoutbox
    review = world["review"]
    AccessReview.objects.filter(pk=review.pk).update(closed_at=timezone.now())
    assert review_tick(now=timezone.now() + timedelta(days=30)) is None
    opened = review_tick(now=timezone.now() + timedelta(days=92))
    assert opened is not None and opened.opened_by is None


def test_the_pages_list_and_decide_only_what_the_user_may(world):
    from django.urls import reverse

    from tests.conftest import client_for

    review = world["review"]
    url = reverse("governance:access-review-detail", args=[review.pk])
    page = client_for(world["dana"]).get(url)
    assert b"sam: change on fraud-detector" in page.content
    assert b"credit-scorer" not in page.content and b"member of" not in page.content
    item = _item(review, user=world["sam"], permission="change")
    decide = reverse("governance:access-review-item-decide", args=[review.pk, item.pk])
    assert client_for(world["olga"]).post(decide, {"decision": "confirm"}).status_code == 404
    assert client_for(world["dana"]).post(decide, {"decision": "confirm"}).status_code == 302
    item.refresh_from_db()
    assert item.decision == "confirmed" and item.decided_by == world["dana"]
    last = _item(review, user=world["dana"], permission="manage")
    refused = client_for(world["admin"]).post(
        reverse("governance:access-review-item-decide", args=[review.pk, last.pk]),
        {"decision": "revoke"},
    )
    assert refused.status_code == 400 and b"last manager" in refused.content


def test_the_audit_report_and_the_bundle_carry_the_review(world):
    import json
    from types import SimpleNamespace

    from governance.reports import audit_report, bundle
    from governance.reports.access_reviews import audit_report_section, bundle_members
    from governance.reports.document import Document
    from governance.reports.scope import ReportScope

    assert audit_report_section in audit_report.EXTRA_SECTIONS
    assert bundle_members in bundle.EXTRA_MEMBERS
    sams = _item(world["review"], user=world["sam"], permission="change")
    item_confirm(actor=world["dana"], item=sams)
    for reader in ("aude", "olga"):  # an auditor who views the model; someone who does not
        now = timezone.now()
        doc = Document(
            kind="audit", title="t", subject="s", scope={}, generated_by=reader, generated_at=now
        )
        csv = []
        audit_report_section(doc, user=world[reader], scope=ReportScope(), now=now, csv=csv)
        text = json.dumps(doc.as_dict(), default=str)
        assert ("member of Registry admins" in text) is (reader == "aude")
        assert ("sam: change on fraud-detector" in text) is (reader == "aude")
    assert ["access_review.confirmed", "dana"] in [[r[4], r[5]] for r in csv] or reader == "olga"
    version = SimpleNamespace(registered_model=world["model"])
    [(path, data)] = bundle_members(user=world["aude"], version=version)
    assert path == "access-reviews.json"
    rows = json.loads(data)
    decided = [r for r in rows if r["decision"] == "Confirmed"]
    assert [(r["what"], r["by"]) for r in decided] == [("sam: change on fraud-detector", "dana")]
    assert not any("member of" in r["what"] for r in rows)  # the model's grants only
