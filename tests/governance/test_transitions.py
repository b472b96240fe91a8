import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from governance.models import ApprovalPolicy, AuditEvent, TransitionRequest
from governance.services import (
    comment_add,
    decision_record,
    emergency_rollback,
    model_risk_class_set,
    transition_request_open,
    transition_request_withdraw,
    version_archive,
)
from registry.models import Stage
from tests.factories import make_version


def open_request(actor, version, target="Production", **kwargs):
    return transition_request_open(
        actor=actor,
        version=version,
        target_stage=target,
        justification="Better AUC on the holdout set",
        **kwargs,
    )


def test_request_opens_with_one_event_and_policy_snapshot(scientist, ready_version, audit_count):
    request = open_request(scientist, ready_version)
    assert request.status == "pending"
    assert request.policy["required_approvals"] == 1
    assert audit_count() == 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "transition.request" and event.model_version_id == ready_version.pk


def test_gates_block_opening(scientist, version, model):
    # risk class unclassified and a scan pending would both block; here: risk class.
    with pytest.raises(ValidationError, match="Risk class set"):
        open_request(scientist, version)


def test_flagged_artifact_blocks(scientist, ready_version):
    ready_version.artifacts.update(scan_status="flagged")
    with pytest.raises(ValidationError, match="Artifacts scanned clean"):
        open_request(scientist, ready_version)


def test_required_metrics_gate(scientist, ready_version):
    ApprovalPolicy.objects.filter(target_stage="Production", risk_class="any").update(
        required_metrics="auc, fairness_gap"
    )
    with pytest.raises(ValidationError, match="missing fairness_gap"):
        open_request(scientist, ready_version)


def test_only_one_pending_request_per_target(scientist, ready_version):
    open_request(scientist, ready_version)
    with pytest.raises(ValidationError, match="already pending"):
        open_request(scientist, ready_version)


def test_read_only_users_cannot_open(viewer, auditor, ready_version):
    for user in (viewer, auditor):
        with pytest.raises(PermissionDenied):
            open_request(user, ready_version)


def test_approval_moves_the_stage_atomically(scientist, approver, ready_version, audit_count):
    request = open_request(scientist, ready_version)
    before = audit_count()
    decision_record(actor=approver, request=request, outcome="approve", reason="Looks good")
    ready_version.refresh_from_db()
    request.refresh_from_db()
    assert ready_version.stage == Stage.PRODUCTION and ready_version.production_approved_at
    assert request.status == "approved"
    assert audit_count() - before == 1
    event = AuditEvent.objects.filter(action="transition.approve").latest("id")
    assert event.after["stage_change"]["to"] == "Production"


def test_four_eyes(scientist, approver, ready_version, model):
    from governance import access
    from tests.factories import make_team

    scientist.groups.add(make_team(access.ROLE_APPROVERS))  # only approvers hold approve
    access.grant(model, "approve", user=scientist)
    request = open_request(scientist, ready_version)
    with pytest.raises(PermissionDenied, match="you opened this request"):
        decision_record(actor=scientist, request=request, outcome="approve", reason="mine")
    # An approver who uploaded the version may not decide either.
    other_version = make_version(approver_as_uploader(model, approver), model)
    other_version.artifacts.update(scan_status="clean")
    request2 = open_request(scientist, other_version, target="Staging")
    with pytest.raises(PermissionDenied, match="you uploaded this version"):
        decision_record(actor=approver, request=request2, outcome="approve", reason="mine")


def approver_as_uploader(model, approver):
    from governance import access

    access.grant(model, "change", user=approver)
    return approver


def test_approver_needs_the_grant(scientist, ready_version):
    from governance import access
    from tests.factories import make_user

    outsider = make_user("ozzy", access.ROLE_APPROVERS)
    request = open_request(scientist, ready_version)
    with pytest.raises(PermissionDenied):
        decision_record(actor=outsider, request=request, outcome="approve", reason="ok")


def test_reason_is_always_required(scientist, approver, ready_version):
    request = open_request(scientist, ready_version)
    for outcome in ("approve", "reject"):
        with pytest.raises(ValidationError, match="reason"):
            decision_record(actor=approver, request=request, outcome=outcome, reason="  ")


def test_rejection_ends_the_request(scientist, approver, second_approver, ready_version):
    request = open_request(scientist, ready_version)
    decision_record(actor=approver, request=request, outcome="reject", reason="Bias check missing")
    request.refresh_from_db()
    assert request.status == "rejected"
    with pytest.raises(ValidationError, match="already rejected"):
        decision_record(actor=second_approver, request=request, outcome="approve", reason="ok")
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.NONE


def test_two_approvals_from_the_named_group(
    scientist, approver, second_approver, compliance_officer, ready_version, model
):
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit decisions"
    )
    ApprovalPolicy.objects.filter(target_stage="Production", risk_class="high").update(
        require_model_card=False, required_annex_iv_items=""
    )
    request = open_request(scientist, ready_version)
    assert request.policy["required_approvals"] == 2
    assert request.policy["required_groups"] == ["Compliance"]
    decision_record(actor=approver, request=request, outcome="approve", reason="ok 1")
    decision_record(actor=second_approver, request=request, outcome="approve", reason="ok 2")
    request.refresh_from_db()
    assert request.is_pending, "two approvals but none from Compliance"
    with pytest.raises(ValidationError, match="already decided"):
        decision_record(actor=approver, request=request, outcome="approve", reason="again")
    decision_record(actor=compliance_officer, request=request, outcome="approve", reason="ok 3")
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.status == "approved" and ready_version.stage == Stage.PRODUCTION


def test_gates_are_checked_again_before_the_final_approval(scientist, approver, ready_version):
    request = open_request(scientist, ready_version)
    ready_version.artifacts.update(scan_status="flagged")
    with pytest.raises(ValidationError, match="The approval was not recorded"):
        decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    request.refresh_from_db()
    assert request.is_pending and not request.decisions.exists()


def test_withdraw_only_by_requester_while_pending(scientist, approver, viewer, ready_version):
    request = open_request(scientist, ready_version)
    with pytest.raises(PermissionDenied):
        transition_request_withdraw(actor=viewer, request=request)
    transition_request_withdraw(actor=scientist, request=request)
    request.refresh_from_db()
    assert request.status == "withdrawn"
    with pytest.raises(ValidationError, match="already withdrawn"):
        transition_request_withdraw(actor=scientist, request=request)


def test_production_archives_the_previous_one_when_asked(scientist, approver, ready_version, model):
    decision_record(
        actor=approver,
        request=open_request(scientist, ready_version),
        outcome="approve",
        reason="v1 ok",
    )
    v2 = make_version(scientist, model)
    v2.artifacts.update(scan_status="clean")
    decision_record(
        actor=approver, request=open_request(scientist, v2), outcome="approve", reason="v2 ok"
    )
    ready_version.refresh_from_db()
    v2.refresh_from_db()
    assert (ready_version.stage, v2.stage) == (Stage.ARCHIVED, Stage.PRODUCTION)


def test_emergency_rollback_restores_previous_and_opens_a_review(
    scientist, approver, second_approver, ready_version, model
):
    decision_record(
        actor=approver,
        request=open_request(scientist, ready_version),
        outcome="approve",
        reason="v1",
    )
    v2 = make_version(scientist, model)
    v2.artifacts.update(scan_status="clean")
    decision_record(
        actor=approver, request=open_request(scientist, v2), outcome="approve", reason="v2"
    )
    review = emergency_rollback(actor=approver, registered_model=model, reason="v2 drifts badly")
    ready_version.refresh_from_db()
    v2.refresh_from_db()
    assert (ready_version.stage, v2.stage) == (Stage.PRODUCTION, Stage.ARCHIVED)
    assert review.kind == "post_hoc" and review.is_pending
    event = AuditEvent.objects.filter(action="version.emergency_rollback").get()
    assert event.after["emergency"] is True and event.after["review_request"] == review.pk
    with pytest.raises(PermissionDenied):  # the person who rolled back does not review it
        decision_record(actor=approver, request=review, outcome="approve", reason="fine")
    decision_record(actor=second_approver, request=review, outcome="approve", reason="agreed")
    review.refresh_from_db()
    assert review.status == "approved"


def test_rollback_needs_approve_and_a_previous_version(scientist, approver, model, ready_version):
    with pytest.raises(PermissionDenied):
        emergency_rollback(actor=scientist, registered_model=model, reason="x")
    with pytest.raises(ValidationError, match="No version is in Production"):
        emergency_rollback(actor=approver, registered_model=model, reason="x")


def test_archive_needs_change_and_reason(scientist, viewer, ready_version):
    with pytest.raises(PermissionDenied):
        version_archive(actor=viewer, version=ready_version, reason="old")
    with pytest.raises(ValidationError):
        version_archive(actor=scientist, version=ready_version, reason="")
    version_archive(actor=scientist, version=ready_version, reason="superseded")
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.ARCHIVED


def test_comments_by_requester_and_approvers_only(
    scientist, approver, viewer, auditor, ready_version, audit_count
):
    request = open_request(scientist, ready_version)
    before = audit_count()
    comment_add(actor=scientist, request=request, body="Please look at slice age>=65")
    comment_add(actor=approver, request=request, body="Checked")
    assert audit_count() - before == 2
    for user in (viewer, auditor):
        with pytest.raises(PermissionDenied):
            comment_add(actor=user, request=request, body="me too")


def test_notifications_email_approvers_and_requester(
    scientist, approver, ready_version, mailoutbox, django_capture_on_commit_callbacks
):
    scientist.email, approver.email = "dana@example.com", "avery@example.com"
    scientist.save()
    approver.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = open_request(scientist, ready_version)
    assert [m.to for m in mailoutbox] == [["avery@example.com"]]
    assert "Approval needed" in mailoutbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    assert mailoutbox[-1].to == ["dana@example.com"] and "Approved" in mailoutbox[-1].subject
    assert TransitionRequest.objects.count() == 1
