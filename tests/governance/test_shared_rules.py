"""Each lifecycle rule is written once (issue 16): the aliases page and the MLflow API set
aliases and stages through the same services, and the pages' explanations come from the
same predicates (governance/rules.py) the services enforce."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from governance import access, rules, selectors
from governance.models import AuditEvent, TransitionRequest
from governance.services import alias_set, comment_add, decision_record, transition_request_open
from governance.services.aliases import AliasNeedsProduction
from governance.services.notifications import NOTIFY_TRANSITION_TASK
from governance.services.transitions import (
    ApprovalRequired,
    RequestNotOpened,
    version_stage_set,
)
from registry.models import Job, ModelAlias, Stage

VIA = "a test"


def _requests(version, stage=Stage.PRODUCTION):
    return TransitionRequest.objects.filter(model_version=version, target_stage=stage)


# --- Protected aliases: one service for the page and the API ------------------------------


def test_protected_alias_on_a_version_not_in_production_is_refused_with_a_typed_error(
    approver, ready_version, model, audit_count
):
    with pytest.raises(AliasNeedsProduction, match="approved for Production"):
        alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    assert not ModelAlias.objects.exists() and not _requests(ready_version).exists()
    assert audit_count() == 0


def test_asked_to_request_production_the_alias_service_opens_one_request_and_names_it(
    scientist, ready_version, model, audit_count
):
    with pytest.raises(ApprovalRequired) as first:
        alias_set(
            actor=scientist,
            registered_model=model,
            alias="champion",
            version=ready_version,
            request_production="the pipeline asks for @champion",
        )
    request = _requests(ready_version).get()
    assert first.value.request == request and request.requested_by == scientist
    assert request.justification == "the pipeline asks for @champion"
    assert f"#{request.pk}" in str(first.value) and "@champion" in str(first.value)
    assert audit_count() == 1  # transition.request; no alias was set
    # Asking again finds the pending request: no second request, no second event.
    with pytest.raises(ApprovalRequired) as again:
        alias_set(
            actor=scientist,
            registered_model=model,
            alias="champion",
            version=ready_version,
            request_production="again",
        )
    assert again.value.request == request and audit_count() == 1
    assert not ModelAlias.objects.exists()


def test_a_viewer_neither_opens_a_request_nor_learns_of_a_pending_one(
    scientist, viewer, ready_version, model
):
    transition_request_open(
        actor=scientist, version=ready_version, target_stage=Stage.PRODUCTION, justification="go"
    )
    with pytest.raises(PermissionDenied) as refused:
        alias_set(
            actor=viewer,
            registered_model=model,
            alias="champion",
            version=ready_version,
            request_production="let me",
        )
    assert not isinstance(refused.value, ApprovalRequired)
    assert "#" not in str(refused.value) and _requests(ready_version).count() == 1


def test_a_request_that_cannot_be_opened_says_why(scientist, version, model, audit_count):
    # `version` fails the default gates (no risk class, artifacts not scanned).
    with pytest.raises(RequestNotOpened, match="could not be opened: Blocked by gates"):
        alias_set(
            actor=scientist,
            registered_model=model,
            alias="champion",
            version=version,
            request_production="go",
        )
    assert not _requests(version).exists() and audit_count() == 0


def test_a_protected_alias_on_a_production_version_still_needs_approve(
    scientist, approver, ready_version, model
):
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage=Stage.PRODUCTION, justification="go"
    )
    decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    ready_version.refresh_from_db()
    with pytest.raises(PermissionDenied, match="approve permission"):
        alias_set(
            actor=scientist,
            registered_model=model,
            alias="champion",
            version=ready_version,
            request_production="go",
        )
    alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    assert ModelAlias.objects.get().alias == "champion"


# --- Stage changes the way MLflow asks for them ---------------------------------------------


def test_stage_set_to_a_gated_stage_finds_or_opens_the_request(
    scientist, ready_version, audit_count
):
    for _ in range(2):
        with pytest.raises(ApprovalRequired) as exc:
            version_stage_set(
                actor=scientist,
                version=ready_version,
                stage=Stage.STAGING,
                archive_existing=False,
                via=VIA,
            )
    request = _requests(ready_version, Stage.STAGING).get()
    assert exc.value.request == request and audit_count() == 1
    assert request.justification == "Requested through a test (transition-stage to Staging)."
    assert not request.archive_previous  # only Production archives the previous one by default
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.NONE


def test_stage_set_archives_refuses_none_and_does_nothing_for_the_same_stage(
    scientist, viewer, version, audit_count
):
    same = version_stage_set(
        actor=scientist, version=version, stage=Stage.NONE, archive_existing=False, via=VIA
    )
    assert same.stage == Stage.NONE and audit_count() == 0
    with pytest.raises(PermissionDenied):
        version_stage_set(
            actor=viewer, version=version, stage=Stage.ARCHIVED, archive_existing=False, via=VIA
        )
    archived = version_stage_set(
        actor=scientist, version=version, stage=Stage.ARCHIVED, archive_existing=False, via=VIA
    )
    assert archived.stage == Stage.ARCHIVED
    event = AuditEvent.objects.get(action="version.archive")
    assert event.after["reason"] == "Archived through a test."
    with pytest.raises(PermissionDenied, match="back to None"):
        version_stage_set(
            actor=scientist, version=archived, stage=Stage.NONE, archive_existing=False, via=VIA
        )
    assert audit_count() == 1


# --- The pages ask the rules the services enforce --------------------------------------------


def test_four_eyes_refusal_is_what_the_service_raises(
    approver, second_approver, ready_version, model
):
    access.grant(model, "change", user=approver)  # an approver who also asks
    request = transition_request_open(
        actor=approver, version=ready_version, target_stage=Stage.STAGING, justification="go"
    )
    page_says = selectors.decision_refusal(approver, request, [])
    assert page_says == rules.four_eyes_refusal(approver, request)
    assert page_says.startswith("Four-eyes rule: you opened this request")
    with pytest.raises(PermissionDenied) as service:
        decision_record(actor=approver, request=request, outcome="approve", reason="mine")
    assert str(service.value) == page_says
    assert selectors.decision_refusal(second_approver, request, []) is None


def test_who_may_comment_is_one_rule(scientist, approver, viewer, auditor, ready_version):
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage=Stage.STAGING, justification="go"
    )
    for user, allowed in ((scientist, True), (approver, True), (viewer, False), (auditor, False)):
        assert rules.may_comment(user, request) is allowed
        if allowed:
            comment_add(actor=user, request=request, body="hello")
        else:
            with pytest.raises(PermissionDenied):
                comment_add(actor=user, request=request, body="hello")
    assert request.comments.count() == 2


def test_withdraw_is_offered_exactly_when_the_service_allows_it(scientist, approver, ready_version):
    from governance.services import transition_request_withdraw

    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage=Stage.STAGING, justification="go"
    )
    assert not rules.may_withdraw(approver, request)
    with pytest.raises(PermissionDenied):
        transition_request_withdraw(actor=approver, request=request)
    assert rules.may_withdraw(scientist, request)
    withdrawn = transition_request_withdraw(actor=scientist, request=request)
    assert not rules.may_withdraw(scientist, withdrawn)
    with pytest.raises(ValidationError):
        transition_request_withdraw(actor=scientist, request=withdrawn)


def test_opening_and_deciding_queue_one_notification_each(scientist, approver, ready_version):
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage=Stage.STAGING, justification="go"
    )
    decision_record(actor=approver, request=request, outcome="reject", reason="not yet")
    jobs = Job.objects.filter(task_name=NOTIFY_TRANSITION_TASK).order_by("pk")
    assert [j.result["event"] for j in jobs] == ["opened", "decided"]
    assert {j.result["request"] for j in jobs} == {request.pk}
