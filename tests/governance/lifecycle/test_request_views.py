"""The request pages: request detail, decisions, withdraw and comments, and opening a request
from the version page. Every view and action gets the permission matrix.
"""

from django.urls import reverse

from governance import access
from governance.models import AuditEvent, Decision, TransitionRequest
from governance.services import decision_record, model_risk_class_set
from registry.models import Stage
from tests.conftest import client_for
from tests.factories import make_version
from tests.governance.lifecycle.helpers import access_group, open_request, ready
from tests.matrix import LOGIN, check_matrix

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
        require_model_card=False, required_annex_iv_items=""
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
    assert "Rejected: fraud-detector v1 stays in no stage." in page
    assert 'class="message message-warning">Rejected:' in page  # not a green success banner
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
