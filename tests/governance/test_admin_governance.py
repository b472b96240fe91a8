"""Lifecycle settings in the admin (audited), read-only transition requests, and expiring
accounts."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from governance.admin import ApprovalPolicyAdmin
from governance.admin_site import registry_admin_site
from governance.models import AccountExpiry, ApprovalPolicy, AuditEvent, ProtectedAlias
from governance.services import transition_request_open
from governance.signin import failed_signins_fold
from tests.conftest import client_for
from tests.matrix import LOGIN, check_matrix


def policy_form(group, **changes):
    data = {
        "target_stage": "Staging",
        "risk_class": "high",
        "required_approvals": "2",
        "required_groups": [group.pk],
        "required_metrics": "auc",
        "require_risk_class": "on",
        "sla_hours": "24",
        "_save": "Save",
    }
    data.update(changes)
    return data


@pytest.fixture
def compliance(db):
    return Group.objects.get_or_create(name="Compliance")[0]


@pytest.fixture
def users(scientist, auditor, approver, registry_admin):
    return {
        "anonymous": None,
        "owner": scientist,
        "auditor": auditor,
        "approver": approver,
        "admin": registry_admin,
    }


def test_lifecycle_admin_pages_are_for_registry_admins(users):
    for name in (
        "admin:governance_approvalpolicy_changelist",
        "admin:governance_protectedalias_changelist",
        "admin:governance_transitionrequest_changelist",
    ):
        check_matrix(
            users,
            reverse(name),
            {"anonymous": LOGIN, "owner": 403, "auditor": 403, "approver": 403, "admin": 200},
        )
    index = client_for(users["admin"]).get(reverse("admin:index")).content
    for label in (b"Approval policies", b"Protected aliases", b"Transition requests"):
        assert label in index


def test_approval_policy_add_is_audited_with_groups(registry_admin, compliance):
    assert ApprovalPolicyAdmin.filter_horizontal == ("required_groups",)
    client = client_for(registry_admin)
    add_url = reverse("admin:governance_approvalpolicy_add")
    page = client.get(add_url)
    assert page.status_code == 200 and b'class="selectfilter"' in page.content
    before = AuditEvent.objects.count()
    response = client.post(add_url, policy_form(compliance))
    assert response.status_code == 302, response.content
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    policy = ApprovalPolicy.objects.get(target_stage="Staging", risk_class="high")
    assert event.action == "admin.approvalpolicy.add"
    assert event.actor_username == "ada" and event.target_id == str(policy.pk)
    assert event.after["required_groups"] == ["Compliance"]
    assert event.after["required_approvals"] == 2


def test_approval_policy_change_records_before_and_after(registry_admin, compliance):
    policy = ApprovalPolicy.objects.get(target_stage="Production", risk_class="any")
    url = reverse("admin:governance_approvalpolicy_change", args=[policy.pk])
    client = client_for(registry_admin)
    before = AuditEvent.objects.count()
    data = policy_form(
        compliance, target_stage="Production", risk_class="any", required_approvals="3"
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "admin.approvalpolicy.change"
    assert event.before["required_approvals"] == 1 and event.after["required_approvals"] == 3
    assert event.before["required_groups"] == [] and event.after["required_groups"] == [
        "Compliance"
    ]
    assert "admin_message" in event.context


def test_protected_alias_add_and_delete_are_audited(registry_admin):
    client = client_for(registry_admin)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("admin:governance_protectedalias_add"), {"name": "golden", "_save": "Save"}
    )
    assert response.status_code == 302
    alias = ProtectedAlias.objects.get(name="golden")
    response = client.post(
        reverse("admin:governance_protectedalias_delete", args=[alias.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not ProtectedAlias.objects.filter(name="golden").exists()
    events = list(AuditEvent.objects.filter(id__gt=0).order_by("id"))[before:]
    assert [e.action for e in events] == [
        "admin.protectedalias.add",
        "admin.protectedalias.delete",
    ]
    assert events[1].before["name"] == "golden"


def test_bulk_delete_is_not_offered(registry_admin):
    response = client_for(registry_admin).get(reverse("admin:governance_protectedalias_changelist"))
    assert b"delete_selected" not in response.content


def test_transition_requests_are_read_only_in_the_admin(registry_admin, scientist, ready_version):
    request = transition_request_open(
        actor=scientist,
        version=ready_version,
        target_stage="Staging",
        justification="For the shadow run",
    )
    client = client_for(registry_admin)
    listing = client.get(reverse("admin:governance_transitionrequest_changelist"))
    assert listing.status_code == 200 and b"fraud-detector v1" in listing.content
    url = reverse("admin:governance_transitionrequest_change", args=[request.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"For the shadow run" in page.content
    assert b'name="_save"' not in page.content
    before = AuditEvent.objects.count()
    assert client.post(url, {"status": "approved"}).status_code == 403
    assert client.get(reverse("admin:governance_transitionrequest_add")).status_code == 403
    delete = reverse("admin:governance_transitionrequest_delete", args=[request.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    request.refresh_from_db()
    assert request.status == "pending" and AuditEvent.objects.count() == before


def test_audit_events_stay_read_only_in_the_admin(registry_admin, model):
    event = AuditEvent.objects.first()
    client = client_for(registry_admin)
    url = reverse("admin:governance_auditevent_change", args=[event.pk])
    assert client.post(url, {"action": "forged"}).status_code == 403
    delete = reverse("admin:governance_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_lifecycle_models_are_registered_on_the_registry_admin_site():
    registered = {m._meta.model_name for m in registry_admin_site._registry}
    assert {"approvalpolicy", "protectedalias", "transitionrequest"} <= registered


# --- Expiring accounts ----------------------------------------------------------------------


def test_user_list_shows_the_expiry_column(registry_admin, auditor):
    AccountExpiry.objects.create(user=auditor, expires_at=timezone.now() + timedelta(days=30))
    response = client_for(registry_admin).get(reverse("admin:auth_user_changelist"))
    html = response.content.decode()
    assert "Account expires" in html
    assert "never" in html  # accounts without an expiry
    row = html[html.index(">aude<") :]
    assert str((timezone.now() + timedelta(days=30)).year) in row[: row.index("</tr>")]


def test_expired_account_cannot_sign_in(auditor):
    AccountExpiry.objects.create(user=auditor, expires_at=timezone.now() - timedelta(minutes=1))
    client = client_for(None)
    assert client.login(username="aude", password="pw-for-tests-1") is False
    response = client.post(reverse("login"), {"username": "aude", "password": "pw-for-tests-1"})
    assert response.status_code == 200  # the form again, with its error
    assert b"correct username and password" in response.content
    # Failed sign-ins wait outside the chain and are folded into it as one batch event.
    assert failed_signins_fold() == 2
    batch = AuditEvent.objects.get(action="auth.login_failed")
    assert batch.after["count"] == 2 and batch.after["by_username"] == {"aude": 2}
    assert not AuditEvent.objects.filter(action="auth.login", actor_username="aude").exists()


def test_account_not_yet_expired_can_sign_in(auditor):
    AccountExpiry.objects.create(user=auditor, expires_at=timezone.now() + timedelta(days=1))
    assert client_for(None).login(username="aude", password="pw-for-tests-1") is True


def test_session_of_an_account_that_expires_is_ended(auditor):
    client = client_for(None)
    assert client.login(username="aude", password="pw-for-tests-1")
    audit_url = reverse("governance:audit-log")
    assert client.get(audit_url).status_code == 200
    AccountExpiry.objects.create(user=auditor, expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(audit_url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # And it stays ended: the session no longer signs anyone in.
    assert client.get(reverse("registry:model-list")).status_code == 302


def test_loading_the_signed_in_user_reads_its_expiry_in_the_same_query(
    auditor, django_assert_num_queries
):
    from governance.auth_backends import ExpiringModelBackend

    backend = ExpiringModelBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(auditor.pk)
        assert user == auditor
        assert getattr(user, "account_expiry", None) is None
    expiry = AccountExpiry.objects.create(
        user=auditor, expires_at=timezone.now() + timedelta(days=1)
    )
    with django_assert_num_queries(1):
        assert backend.get_user(auditor.pk).account_expiry == expiry
    expiry.expires_at = timezone.now() - timedelta(seconds=1)
    expiry.save()
    assert backend.get_user(auditor.pk) is None
    assert backend.get_user(10**9) is None
