"""The governance pages: request detail and decisions, opening requests from the version
page, archive, aliases, risk class, emergency rollback, the approval queue with its live
count, and the access page. Every view and action gets the permission matrix."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import access
from governance.models import AuditEvent, Decision, TransitionRequest
from governance.services import decision_record, model_risk_class_set, transition_request_open
from registry.models import ModelAlias, Stage
from tests.conftest import client_for
from tests.factories import make_model, make_team, make_user, make_version
from tests.matrix import LOGIN, check_matrix


@pytest.fixture
def team_member(db, team, model):
    """In the model's team: view and change through the team's grant, no manage."""
    return make_user("tom", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def outsider_approver(db):
    """An approver with no grant on the model."""
    return make_user("ozzy", access.ROLE_APPROVERS)


@pytest.fixture
def users(
    scientist,
    team_member,
    other_scientist,
    viewer,
    auditor,
    approver,
    outsider_approver,
    registry_admin,
):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "approver_without_grant": outsider_approver,
        "viewer": viewer,
        "auditor": auditor,
        "admin": registry_admin,
        "team_member": team_member,
        "approver": approver,
        "owner": scientist,
    }


def open_request(actor, version, target="Production", **kwargs):
    return transition_request_open(
        actor=actor,
        version=version,
        target_stage=target,
        justification="Better AUC on the holdout set",
        **kwargs,
    )


@pytest.fixture
def pending(scientist, ready_version):
    return open_request(scientist, ready_version)


def ready(version):
    version.artifacts.update(scan_status="clean")
    return version


@pytest.fixture
def audit_count():
    """Audit events written since the last call of `audit_count.reset()` (or the start).
    Signing a test client in writes an event too, so tests reset after making clients."""
    state = {"start": AuditEvent.objects.count()}

    def count():
        return AuditEvent.objects.count() - state["start"]

    count.reset = lambda: state.update(start=AuditEvent.objects.count())
    return count


# --- Request detail -------------------------------------------------------------------


def test_request_detail_matrix(users, pending):
    url = reverse("governance:request-detail", args=[pending.pk])
    assert url == pending.get_absolute_url()
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 200,
            "auditor": 200,
            "admin": 200,
            "team_member": 200,
            "approver": 200,
            "owner": 200,
        },
    )
    decide_url = reverse("governance:request-decide", args=[pending.pk]).encode()
    withdraw_url = reverse("governance:request-withdraw", args=[pending.pk]).encode()
    comment_url = reverse("governance:request-comment", args=[pending.pk]).encode()
    for role, response in responses.items():
        if response.status_code != 200:
            continue
        body = response.content
        assert (decide_url in body) == (role == "approver"), role
        assert (withdraw_url in body) == (role == "owner"), role
        assert (comment_url in body) == (role in ("approver", "owner")), role
    page = responses["approver"].content.decode()
    assert "Better AUC on the holdout set" in page
    assert "0 of 1 approval" in page
    assert "Artifacts scanned clean" in page and "Risk class set" in page
    assert "Opened by dana" in page
    assert "you opened this request" in responses["owner"].content.decode()


def test_request_detail_shows_policy_progress_and_missing_groups(
    scientist, approver, compliance_officer, ready_version, model
):
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit decisions"
    )
    from governance.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(target_stage="Production", risk_class="high").update(
        require_model_card=False
    )
    request = open_request(scientist, ready_version)
    decision_record(actor=approver, request=request, outcome="approve", reason="metrics fine")
    page = client_for(compliance_officer).get(request.get_absolute_url()).content.decode()
    assert "1 of 2 approvals" in page
    assert "Still needs an approval from" in page and "Compliance" in page
    assert "metrics fine" in page and "avery" in page


def test_post_hoc_review_is_badged(scientist, approver, second_approver, ready_version, model):
    decision_record(
        actor=approver,
        request=open_request(scientist, ready_version),
        outcome="approve",
        reason="1",
    )
    v2 = ready(make_version(scientist, model))
    decision_record(
        actor=approver, request=open_request(scientist, v2), outcome="approve", reason="2"
    )
    client = client_for(approver)
    response = client.post(
        reverse("governance:model-rollback", args=[model.name]), {"reason": "v2 drifts"}
    )
    review = TransitionRequest.objects.get(kind="post_hoc")
    assert response.status_code == 302 and response["Location"] == review.get_absolute_url()
    page = client.get(review.get_absolute_url()).content.decode()
    assert "Post-hoc review" in page
    assert "you opened this request" in page  # who rolled back does not review it
    # ... and cannot make the review go away either.
    withdraw_url = reverse("governance:request-withdraw", args=[review.pk])
    assert withdraw_url not in page
    response = client.post(withdraw_url)
    assert response.status_code == 400 and b"cannot be withdrawn" in response.content
    review.refresh_from_db()
    assert review.is_pending
    page = client_for(second_approver).get(review.get_absolute_url()).content.decode()
    assert reverse("governance:request-decide", args=[review.pk]) in page


# --- Decisions ------------------------------------------------------------------------


def test_decide_matrix(users, pending, ready_version):
    url = reverse("governance:request-decide", args=[pending.pk])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "team_member": 403,
            "owner": 403,
            "approver": 302,
        },
        method="post",
        data={"outcome": "approve", "reason": "Holdout metrics checked"},
        writes_on_success=1,
    )
    pending.refresh_from_db()
    ready_version.refresh_from_db()
    assert pending.status == "approved" and ready_version.stage == Stage.PRODUCTION
    assert AuditEvent.objects.latest("id").action == "transition.approve"


def test_auditor_is_refused_every_post_even_with_bad_input(auditor, pending, model):
    client = client_for(auditor)
    urls = [
        reverse("governance:request-decide", args=[pending.pk]),
        reverse("governance:request-withdraw", args=[pending.pk]),
        reverse("governance:request-comment", args=[pending.pk]),
        reverse("governance:request-open", args=[model.name, pending.model_version.version]),
        reverse("governance:version-archive", args=[model.name, pending.model_version.version]),
        reverse("governance:model-aliases", args=[model.name]),
        reverse("governance:model-alias-delete", args=[model.name]),
        reverse("governance:model-risk-class", args=[model.name]),
        reverse("governance:model-rollback", args=[model.name]),
        reverse("governance:model-access", args=[model.name]),
        reverse("governance:model-access-revoke", args=[model.name]),
    ]
    before = AuditEvent.objects.count()
    for url in urls:
        for data in ({}, {"reason": "x", "outcome": "approve", "body": "x"}):
            assert client.post(url, data).status_code == 403, url
    assert AuditEvent.objects.count() == before


def test_requester_cannot_approve_their_own_request(scientist, pending, model, audit_count):
    scientist.groups.add(access_group(access.ROLE_APPROVERS))  # only approvers hold approve
    access.grant(model, "approve", user=scientist)
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(
        reverse("governance:request-decide", args=[pending.pk]),
        {"outcome": "approve", "reason": "mine"},
    )
    assert response.status_code == 403
    assert b"you opened this request" in response.content
    assert audit_count() == 0 and not Decision.objects.exists()


def test_uploader_cannot_approve(scientist, approver, model, audit_count):
    access.grant(model, "change", user=approver)
    version = ready(make_version(approver, model))
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="minimal", rationale="internal"
    )
    request = open_request(scientist, version, target="Staging")
    client = client_for(approver)
    audit_count.reset()
    response = client.post(
        reverse("governance:request-decide", args=[request.pk]),
        {"outcome": "approve", "reason": "ok"},
    )
    assert response.status_code == 403 and b"you uploaded this version" in response.content
    assert audit_count() == 0


def test_reason_is_required_and_the_error_is_shown(approver, pending, audit_count):
    url = reverse("governance:request-decide", args=[pending.pk])
    client = client_for(approver)
    audit_count.reset()
    response = client.post(url, {"outcome": "reject", "reason": "   "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A reason is required." in page
    assert 'data-field="reason"' in page
    assert audit_count() == 0 and not Decision.objects.exists()
    response = client.post(url, {"reason": "fine"})
    assert response.status_code == 400 and "Choose Approve or Reject." in response.content.decode()
    assert "fine</textarea>" in response.content.decode()


def test_service_validation_errors_keep_the_reason(approver, pending, ready_version, audit_count):
    ready_version.artifacts.update(scan_status="flagged")  # the final gate check fails
    client = client_for(approver)
    audit_count.reset()
    response = client.post(
        reverse("governance:request-decide", args=[pending.pk]),
        {"outcome": "approve", "reason": "Looks right to me"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The approval was not recorded" in page
    assert "Looks right to me</textarea>" in page
    assert audit_count() == 0


def test_deciding_twice_shows_why(approver, second_approver, pending):
    url = reverse("governance:request-decide", args=[pending.pk])
    assert client_for(approver).post(url, {"outcome": "reject", "reason": "no"}).status_code == 302
    response = client_for(second_approver).post(url, {"outcome": "approve", "reason": "yes"})
    assert response.status_code == 400 and b"already rejected" in response.content


def test_rejection_message_and_status(approver, pending, ready_version):
    client = client_for(approver)
    response = client.post(
        reverse("governance:request-decide", args=[pending.pk]),
        {"outcome": "reject", "reason": "Bias check missing"},
        follow=True,
    )
    page = response.content.decode()
    assert "Rejected: fraud-detector v1 stays in None." in page
    assert "Bias check missing" in page
    pending.refresh_from_db()
    assert pending.status == "rejected"


# --- Withdraw and comments --------------------------------------------------------------


def test_withdraw_matrix(users, pending):
    url = reverse("governance:request-withdraw", args=[pending.pk])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "team_member": 403,
            "approver": 403,
            "owner": 302,
        },
        method="post",
        writes_on_success=1,
    )
    pending.refresh_from_db()
    assert pending.status == "withdrawn"
    again = client_for(users["owner"]).post(url)
    assert again.status_code == 400 and b"already withdrawn" in again.content


def test_comment_matrix(users, pending):
    url = reverse("governance:request-comment", args=[pending.pk])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "team_member": 403,
            "approver": 302,
            "owner": 302,
        },
        method="post",
        data=lambda role: {"body": f"note from {role}"},
        writes_on_success=1,
    )
    page = client_for(users["viewer"]).get(pending.get_absolute_url()).content.decode()
    assert "note from approver" in page and "note from owner" in page


def test_empty_comment_is_refused_with_a_field_error(scientist, pending, audit_count):
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(reverse("governance:request-comment", args=[pending.pk]), {"body": ""})
    assert response.status_code == 400 and b"Write a comment first." in response.content
    assert audit_count() == 0


# --- Opening a request from the version page ------------------------------------------


def test_version_page_offers_the_request_form_to_change_holders(users, ready_version, model):
    url = ready_version.get_absolute_url()
    open_url = reverse("governance:request-open", args=[model.name, ready_version.version])
    for role in ("viewer", "auditor", "admin", "approver", "team_member", "owner"):
        page = client_for(users[role]).get(url).content.decode()
        assert (open_url in page) == (role in ("team_member", "owner")), role
        assert 'id="lifecycle"' in page, role
    page = client_for(users["owner"]).get(url).content.decode()
    assert "Archive the current Production version" in page
    assert "What each stage asks" in page and "Artifacts scanned clean" in page


def test_request_open_matrix(users, ready_version, model):
    url = reverse("governance:request-open", args=[model.name, ready_version.version])
    expected = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "approver_without_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "approver": 403,
    }
    check_matrix(users, url, expected | {"team_member": 200, "owner": 200})
    check_matrix(
        users,
        url,
        expected | {"owner": 302},
        method="post",
        data={"target_stage": "Production", "justification": "Ready", "archive_previous": "on"},
        writes_on_success=1,
    )
    request = TransitionRequest.objects.get()
    assert (request.requested_by, request.target_stage, request.archive_previous) == (
        users["owner"],
        "Production",
        True,
    )


def test_request_open_redirects_to_the_request(scientist, ready_version, model):
    url = reverse("governance:request-open", args=[model.name, ready_version.version])
    response = client_for(scientist).post(
        url, {"target_stage": "Staging", "justification": "Try it on shadow traffic"}
    )
    request = TransitionRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request.get_absolute_url()
    assert request.target_stage == "Staging" and request.archive_previous is False


def test_failing_gates_are_shown_and_the_input_kept(scientist, version, model, audit_count):
    # Unclassified risk and an artifact still waiting for its scan: both gates fail.
    url = reverse("governance:request-open", args=[model.name, version.version])
    client = client_for(scientist)
    audit_count.reset()
    page = client.get(version.get_absolute_url()).content.decode()
    assert "set the model&#x27;s risk class first" in page and "blocked" in page
    response = client.post(url, {"target_stage": "Production", "justification": "Please ship it"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Blocked by gates:" in page and "Risk class set" in page
    assert "Please ship it</textarea>" in page
    assert '<option value="Production" selected>' in page
    assert audit_count() == 0 and not TransitionRequest.objects.exists()


def test_missing_justification_is_a_field_error(scientist, ready_version, model):
    url = reverse("governance:request-open", args=[model.name, ready_version.version])
    response = client_for(scientist).post(url, {"target_stage": "Staging", "justification": ""})
    assert response.status_code == 400
    assert b"A justification is required." in response.content
    assert b'<option value="Staging" selected>' in response.content


def test_a_second_pending_request_is_refused_clearly(scientist, pending, ready_version, model):
    url = reverse("governance:request-open", args=[model.name, ready_version.version])
    response = client_for(scientist).post(
        url, {"target_stage": "Production", "justification": "again"}
    )
    assert response.status_code == 400 and b"already pending" in response.content


# --- Archive, aliases, risk class, rollback --------------------------------------------


def test_archive_matrix(users, ready_version, model):
    url = reverse("governance:version-archive", args=[model.name, ready_version.version])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "approver": 403,
    }
    check_matrix(users, url, denied | {"owner": 200})
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"reason": "superseded by v2"},
        writes_on_success=1,
    )
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.ARCHIVED


def test_archive_needs_a_reason(scientist, version, model, audit_count):
    url = reverse("governance:version-archive", args=[model.name, version.version])
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and b"A reason is required." in response.content
    assert audit_count() == 0


def test_alias_set_matrix_and_protected_marks(users, version, model):
    url = reverse("governance:model-aliases", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "owner": 302,
        },
        method="post",
        data={"alias": "candidate", "version": version.version},
        writes_on_success=1,
    )
    assert ModelAlias.objects.get(alias="candidate").model_version == version
    page = client_for(users["viewer"]).get(url).content.decode()
    assert "@candidate" in page and "Set alias" not in page


def test_alias_errors(scientist, approver, version, model, audit_count):
    url = reverse("governance:model-aliases", args=[model.name])
    client, approver_client = client_for(scientist), client_for(approver)
    audit_count.reset()
    response = client.post(url, {"alias": "latest", "version": version.version})
    assert response.status_code == 400 and b"reserved" in response.content
    assert b'value="latest"' in response.content
    response = client.post(url, {"alias": "x", "version": 99})
    assert response.status_code == 400 and b"has no version 99" in response.content
    # Protected: the scientist lacks approve; the approver's version is not in Production.
    response = client.post(url, {"alias": "champion", "version": version.version})
    assert response.status_code == 403 and b"approve permission" in response.content
    response = approver_client.post(url, {"alias": "champion", "version": version.version})
    assert response.status_code == 403 and b"approved for Production" in response.content
    assert audit_count() == 0


def test_protected_alias_is_marked_on_the_version_page(scientist, approver, pending, model):
    decision_record(actor=approver, request=pending, outcome="approve", reason="ok")
    url = reverse("governance:model-aliases", args=[model.name])
    version = pending.model_version
    next_url = version.get_absolute_url()
    response = client_for(approver).post(
        url, {"alias": "champion", "version": version.version, "next": next_url}
    )
    assert response.status_code == 302 and response["Location"] == next_url
    page = client_for(scientist).get(next_url).content.decode()
    assert "@champion" in page and "protected" in page


def test_alias_remove_matrix(users, version, model):
    ModelAlias.objects.create(registered_model=model, alias="candidate", model_version=version)
    url = reverse("governance:model-alias-delete", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "owner": 302,
        },
        method="post",
        data={"alias": "candidate"},
        writes_on_success=1,
    )
    assert not ModelAlias.objects.exists()
    response = client_for(users["owner"]).post(url, {"alias": "candidate"})
    assert response.status_code == 400 and b"No alias @candidate" in response.content


def test_risk_class_matrix(users, model):
    url = reverse("governance:model-risk-class", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "approver": 403,
    }
    check_matrix(users, url, denied | {"team_member": 200, "owner": 200})
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"risk_class": "high", "rationale": "credit decisions (Annex III)"},
        writes_on_success=1,
    )
    model.refresh_from_db()
    assert model.risk_class == "high"
    event = AuditEvent.objects.latest("id")
    assert event.action == "model.risk_class" and event.after["rationale"].startswith("credit")


def test_risk_class_needs_a_rationale(scientist, model, audit_count):
    url = reverse("governance:model-risk-class", args=[model.name])
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(url, {"risk_class": "high", "rationale": " "})
    assert response.status_code == 400 and b"A rationale is required." in response.content
    assert b'<option value="high" selected>' in response.content
    assert audit_count() == 0


def test_rollback_matrix(users, approver, second_approver, scientist, ready_version, model):
    url = reverse("governance:model-rollback", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "team_member": 403,
        "owner": 403,
    }
    check_matrix(users, url, denied | {"approver": 200})
    # Nothing in Production yet: a clear error, nothing written.
    response = client_for(approver).post(url, {"reason": "broken"})
    assert response.status_code == 400 and b"No version is in Production" in response.content
    decision_record(
        actor=approver,
        request=open_request(scientist, ready_version),
        outcome="approve",
        reason="1",
    )
    v2 = ready(make_version(scientist, model))
    decision_record(
        actor=second_approver, request=open_request(scientist, v2), outcome="approve", reason="2"
    )
    check_matrix(
        users,
        url,
        denied | {"approver": 302},
        method="post",
        data={"reason": "v2 drifts on the new merchant mix"},
        writes_on_success=1,
    )
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.PRODUCTION
    assert AuditEvent.objects.latest("id").action == "version.emergency_rollback"


def test_rollback_needs_a_reason(approver, model, audit_count):
    client = client_for(approver)
    audit_count.reset()
    response = client.post(reverse("governance:model-rollback", args=[model.name]), {"reason": ""})
    assert response.status_code == 400 and b"A reason is required." in response.content
    assert audit_count() == 0


def test_model_page_panel_by_role(users, pending, model):
    url = model.get_absolute_url()
    risk_url = reverse("governance:model-risk-class", args=[model.name])
    access_url = reverse("governance:model-access", args=[model.name])
    for role in ("viewer", "auditor", "admin", "approver", "team_member", "owner"):
        page = client_for(users[role]).get(url).content.decode()
        assert (risk_url in page) == (role in ("team_member", "owner")), role
        assert ("Emergency rollback" in page) == (role == "approver"), role
        assert (access_url in page) == (role in ("admin", "owner")), role
        assert pending.get_absolute_url() in page, role  # the pending request is listed


# --- Access page ------------------------------------------------------------------------


def test_access_page_matrix_and_holders(users, model, team):
    url = reverse("governance:model-access", args=[model.name])
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "team_member": 403,
            "approver": 403,
            "admin": 200,
            "owner": 200,
        },
    )
    page = responses["owner"].content.decode()
    assert "Granted to people" in page and "Granted to groups" in page
    assert "dana" in page and "avery" in page and "vic" in page
    assert team.name in page and "tom" in page  # the team's grant and its members
    assert f'name="subject" value="group:{team.pk}"' in page


def test_grant_matrix(users, model):
    newcomer = make_user("nia")
    url = reverse("governance:model-access", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "team_member": 403,
        "approver": 403,
    }
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"user": "nia", "permission": "view"},
        writes_on_success=1,
    )
    check_matrix(
        users,
        url,
        {"admin": 302},
        method="post",
        data={"user": "nia", "permission": "change"},
        writes_on_success=1,
    )
    assert access.allows(newcomer, model, "change")
    assert AuditEvent.objects.latest("id").action == "grant.assign"


def test_grant_to_a_group(scientist, registry_admin, model, audit_count):
    """A manager shares change with a group; approve goes only to the approver roles, and
    only from registry admins (issue 13: it used to be any group, from any manager)."""
    group = make_team("Model risk")
    url = reverse("governance:model-access", args=[model.name])
    owner, admin = client_for(scientist), client_for(registry_admin)  # (sign-ins are audited)
    audit_count.reset()
    response = owner.post(url, {"group": group.pk, "permission": "change"})
    assert response.status_code == 302 and audit_count() == 1
    member = make_user("gus", "Model risk")
    assert access.allows(member, model, "change")
    response = owner.post(url, {"group": group.pk, "permission": "approve"})
    assert response.status_code == 400
    assert b"Only registry admins and Compliance grant approve." in response.content
    response = admin.post(url, {"group": group.pk, "permission": "approve"})
    assert response.status_code == 400
    assert b"Only the Approvers or Compliance groups can be granted approve" in response.content
    assert 'data-field="group"' in response.content.decode()
    assert audit_count() == 1 and not access.allows(member, model, "approve")
    approvers = access_group(access.ROLE_APPROVERS)
    response = admin.post(url, {"group": approvers.pk, "permission": "approve"})
    assert response.status_code == 302 and audit_count() == 2
    assert access.allows(make_user("gil", access.ROLE_APPROVERS), model, "approve")


def test_auditor_refused_a_write_grant_sees_why(
    scientist, registry_admin, auditor, model, audit_count
):
    url = reverse("governance:model-access", args=[model.name])
    client, admin = client_for(scientist), client_for(registry_admin)
    audit_count.reset()
    # Approve is the registry admins' to grant (issue 13); an auditor is refused it anyway.
    response = admin.post(url, {"user": "aude", "permission": "approve"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "aude is an auditor; auditors can only be granted view." in page
    assert 'data-field="user"' in page and 'value="aude"' in page
    assert audit_count() == 0 and not access.allows(auditor, model, "approve")
    response = client.post(
        url, {"group": access_group(access.ROLE_AUDITORS).pk, "permission": "change"}
    )
    assert response.status_code == 400 and b"The Auditors group can only be granted view" in (
        response.content
    )


def access_group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def test_grant_form_errors(scientist, model):
    url = reverse("governance:model-access", args=[model.name])
    client = client_for(scientist)
    response = client.post(url, {"user": "nobody", "permission": "view"})
    assert response.status_code == 400 and b"No active user is named nobody." in response.content
    response = client.post(url, {"permission": "view"})
    assert response.status_code == 400 and b"Give either a user or a group" in response.content


def test_revoke_matrix_and_last_manager(users, model, viewer):
    url = reverse("governance:model-access-revoke", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "team_member": 403,
        "approver": 403,
    }
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"subject": f"user:{viewer.pk}", "permission": "view"},
        writes_on_success=1,
    )
    assert not access.allows(viewer, model, "view")
    owner = users["owner"]
    again = client_for(owner).post(url, {"subject": f"user:{viewer.pk}", "permission": "view"})
    assert again.status_code == 400 and b"nothing to revoke" in again.content
    response = client_for(owner).post(url, {"subject": f"user:{owner.pk}", "permission": "manage"})
    assert response.status_code == 400 and b"last manager" in response.content
    assert access.allows(owner, model, "manage")


# --- The approval queue -------------------------------------------------------------------


def test_queue_matrix(users, pending):
    url = reverse("governance:queue")
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 200,
            "approver_without_grant": 200,
            "viewer": 200,
            "auditor": 200,
            "admin": 200,
            "owner": 200,
            "approver": 200,
        },
    )
    link = pending.get_absolute_url().encode()
    for role, response in responses.items():
        if role != "anonymous":
            assert (link in response.content) == (role == "approver"), role
    assert b"1 request awaiting your decision" in responses["approver"].content


def test_queue_includes_approve_through_a_group(scientist, model, ready_version):
    access.grant(model, "approve", group=access_group(access.ROLE_APPROVERS))
    member = make_user("gus", access.ROLE_APPROVERS)
    request = open_request(scientist, ready_version)
    response = client_for(member).get(reverse("governance:queue"))
    assert request.get_absolute_url().encode() in response.content


def test_queue_leaves_out_what_the_user_cannot_decide_unless_asked(
    scientist, approver, pending, model, ready_version
):
    scientist.groups.add(access_group(access.ROLE_APPROVERS))  # only approvers hold approve
    access.grant(model, "approve", user=scientist)
    client = client_for(scientist)
    url = reverse("governance:queue")
    assert pending.get_absolute_url().encode() not in client.get(url).content
    assert pending.get_absolute_url().encode() in client.get(url, {"scope": "all"}).content


def _queue_catalogue(scientist, approver, model, n):
    """`n` pending requests on `model`, each on its own version."""
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="internal"
    )
    for _ in range(n):
        open_request(scientist, ready(make_version(scientist, model)), target="Staging")


def _queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_queue_query_count_does_not_grow_with_rows(scientist, approver, model, team):
    client = client_for(approver)
    url = reverse("governance:queue")
    _queue_catalogue(scientist, approver, model, 2)
    few, response = _queries(client, url)
    assert b"2 requests awaiting your decision" in response.content
    other = make_model(scientist, name="churn", team=team)
    access.grant(other, "approve", user=approver)
    _queue_catalogue(scientist, approver, other, 3)
    _queue_catalogue(scientist, approver, model, 4)
    many, response = _queries(client, url)
    assert b"9 requests awaiting your decision" in response.content
    assert many == few
    assert _queries(client, url, {"model": "churn", "stage": "Staging"})[0] == few


def test_queue_filters(scientist, approver, model, team, ready_version):
    other_team = make_team("Credit risk")
    scientist.groups.add(other_team)
    credit = make_model(scientist, name="credit-scoring", team=other_team)
    access.grant(credit, "approve", user=approver)
    model_risk_class_set(
        actor=scientist, registered_model=credit, risk_class="minimal", rationale="x"
    )
    fraud_prod = open_request(scientist, ready_version)  # fraud-detector, limited, Production
    credit_staging = open_request(scientist, ready(make_version(scientist, credit)), "Staging")
    client = client_for(approver)
    url = reverse("governance:queue")

    def shown(**params):
        content = client.get(url, params).content
        return [
            r
            for r in (fraud_prod, credit_staging)
            if r.get_absolute_url().encode() + b"#decide" in content
        ]

    assert shown() == [fraud_prod, credit_staging]  # oldest first
    assert shown(model="CREDIT") == [credit_staging]
    assert shown(team="Credit risk") == [credit_staging]
    assert shown(team=team.name) == [fraud_prod]
    assert shown(stage="Production") == [fraud_prod]
    assert shown(risk="minimal") == [credit_staging]
    assert shown(risk="high") == []
    page = client.get(url, {"risk": "high"}).content.decode()
    assert "No pending request matches these filters." in page
    teams = client.get(url).content.decode()
    assert '<option value="Credit risk"' in teams and f'<option value="{team.name}"' in teams


def test_queue_htmx_partial_and_pagination(scientist, approver, model, settings):
    settings.ATTEST_PAGE_SIZE = 2
    _queue_catalogue(scientist, approver, model, 3)
    client = client_for(approver)
    url = reverse("governance:queue")
    full = client.get(url)
    partial = client.get(url, {"model": "fraud"}, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b"<html" not in partial.content
    assert "HX-Request" in partial["Vary"]
    assert b"Page 1 of 2" in full.content
    second = client.get(url, {"page": 2})
    assert second.content.count(b"#decide") == 1


def test_overdue_badge_and_gate_summary(scientist, approver, pending, ready_version):
    client = client_for(approver)
    url = reverse("governance:queue")
    page = client.get(url).content.decode()
    assert "overdue" not in page and "pass</span>" in page
    TransitionRequest.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - timedelta(hours=73)
    )
    ready_version.artifacts.update(scan_status="flagged")
    page = client.get(url).content.decode()
    assert ">overdue</span>" in page
    assert "1 failing" in page and "Artifacts scanned clean" in page
    detail = client.get(pending.get_absolute_url()).content.decode()
    assert ">overdue</span>" in detail


# --- The live count in the navigation bar ---------------------------------------------------


def test_nav_count_for_approvers_only(users, pending):
    url = reverse("registry:model-list")
    for role in ("viewer", "auditor", "admin", "owner", "approver_without_grant", "approver"):
        page = client_for(users[role]).get(url).content.decode()
        if role == "approver":
            assert "Approvals <span" in page and "(1)</span>" in page
            assert reverse("governance:queue-count") in page and "every 30s" in page
        elif role == "approver_without_grant":
            assert "Approvals <span" in page and "(0)</span>" in page  # the role, no work
        else:
            assert "Approvals <span" not in page, role


def test_nav_count_endpoint_is_one_count_query(approver, scientist, model, pending):
    client = client_for(approver)
    url = reverse("governance:queue-count")
    client.get(url)  # the session is loaded once per request anyway
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200 and b"(1)" in response.content
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "governance_transitionrequest" in counts[0]
    assert client.get(url, {"seen": "1"}).status_code == 204  # unchanged: nothing to swap
    _queue_catalogue(scientist, approver, model, 3)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"seen": "1"})
    assert b"(4)" in response.content and b"seen=4" in response.content
    assert len([q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]) == 1


def test_nav_count_endpoint_stops_polling_when_signed_out_or_auditor(auditor):
    url = reverse("governance:queue-count")
    assert client_for(None).get(url).status_code == 286
    assert client_for(auditor).get(url).status_code == 286


def test_email_link_opens_the_request(
    scientist, approver, ready_version, mailoutbox, django_capture_on_commit_callbacks
):
    approver.email = "avery@example.com"
    approver.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = open_request(scientist, ready_version)
    link = next(
        line for line in mailoutbox[0].body.splitlines() if line.startswith("Decide: ")
    ).removeprefix("Decide: ")
    path = link[link.index("/requests/") :]
    assert path == request.get_absolute_url()
    assert client_for(approver).get(path).status_code == 200
