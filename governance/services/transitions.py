"""Transition requests and their decisions: the only way into Staging or Production."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.dispatch import job_queue
from governance import access, audit
from governance.models import Decision, RequestComment, TransitionRequest
from governance.policy import (
    effective_policy,
    evaluate_gates,
    failing,
    policy_for,
    policy_snapshot,
)
from governance.services.common import group_names, required_text, version_ref
from governance.stages import move_to_stage
from registry.models import ModelVersion, Stage

GATED = (Stage.STAGING, Stage.PRODUCTION)
# Queued by name: governance.tasks reads the selectors, which build on this module.
NOTIFY_TRANSITION_TASK = "governance.tasks.notify_transition"


def _event(actor, action, request, *, before=None, after=None):
    version = request.model_version
    audit.record(
        actor=actor,
        action=action,
        target=request,
        before=before,
        after={
            "request": request.pk,
            **version_ref(version),
            "target_stage": request.target_stage,
            "status": request.status,
            **(after or {}),
        },
        registered_model_id=version.registered_model_id,
        model_version_id=version.pk,
    )


def gate_failure_message(gates) -> str:
    return "Blocked by gates: " + "; ".join(f"{g.name}: {g.reason}" for g in gates) + "."


def transition_request_open(
    *,
    actor,
    version: ModelVersion,
    target_stage: str,
    justification: str,
    archive_previous: bool = True,
) -> TransitionRequest:
    # Decide on the stored state (risk class, scan results), never on a caller's stale copy.
    version = ModelVersion.objects.select_related("registered_model").get(pk=version.pk)
    model = version.registered_model
    access.require(actor, model, "change")
    justification = required_text(justification, "A justification", field="justification")
    if target_stage not in GATED:
        raise ValidationError({"target_stage": "Requests are for Staging or Production."})
    if version.stage == target_stage:
        raise ValidationError({"target_stage": f"v{version.version} is already in {target_stage}."})
    snapshot = policy_snapshot(policy_for(target_stage, model.risk_class))
    blocked = failing(evaluate_gates(version, snapshot))
    if blocked:
        raise ValidationError(gate_failure_message(blocked))
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        if TransitionRequest.objects.filter(
            model_version=version,
            target_stage=target_stage,
            status=TransitionRequest.Status.PENDING,
        ).exists():
            raise ValidationError(
                f"A request to move v{version.version} to {target_stage} is already pending."
            )
        request = TransitionRequest.objects.create(
            model_version=version,
            target_stage=target_stage,
            justification=justification,
            archive_previous=archive_previous,
            requested_by=actor,
            policy=snapshot,
        )
        _event(
            actor,
            "transition.request",
            request,
            after={
                "justification": justification,
                "policy": snapshot,
                "archive_previous": archive_previous,
            },
        )
        _notify(request, "opened", actor)
    return request


def transition_request_withdraw(*, actor, request: TransitionRequest) -> TransitionRequest:
    access.require(actor, request.model_version.registered_model, "view")
    with transaction.atomic():
        request = TransitionRequest.objects.select_for_update().get(pk=request.pk)
        if request.requested_by_id != actor.pk:
            raise PermissionDenied("Only the person who opened a request can withdraw it.")
        if request.kind == TransitionRequest.Kind.POST_HOC:
            raise ValidationError(
                "A post-hoc review of an emergency rollback cannot be withdrawn; "
                "another approver must decide it."
            )
        if not request.is_pending:
            raise ValidationError(
                f"This request is already {request.get_status_display().lower()}."
            )
        request.status = TransitionRequest.Status.WITHDRAWN
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at"])
        _event(actor, "transition.withdraw", request, before={"status": "pending"})
    return request


def policy_satisfied(snapshot: dict, approvals: list[Decision]) -> tuple[bool, str]:
    needed = snapshot.get("required_approvals", 1)
    approvers = {d.approver_username for d in approvals}
    missing_groups = [
        g
        for g in snapshot.get("required_groups", [])
        if not any(g in d.approver_groups for d in approvals)
    ]
    if len(approvers) < needed:
        return False, f"{len(approvers)} of {needed} approvals"
    if missing_groups:
        return False, f"still needs an approval from {', '.join(missing_groups)}"
    return True, "policy satisfied"


def check_four_eyes(actor, request: TransitionRequest) -> None:
    if request.requested_by_id == actor.pk:
        raise PermissionDenied("Four-eyes rule: you opened this request, someone else decides it.")
    if request.model_version.created_by_id == actor.pk:
        raise PermissionDenied("Four-eyes rule: you uploaded this version, someone else decides.")


def decision_record(*, actor, request: TransitionRequest, outcome: str, reason: str) -> Decision:
    """Approve or reject. The last required approval moves the version, atomically; two
    approvers deciding at once queue on the request's row lock, so there is one outcome."""
    reason = required_text(reason, "A reason")
    if outcome not in Decision.Outcome.values:
        raise ValidationError({"outcome": "Approve or reject."})
    access.require(actor, request.model_version.registered_model, "approve")
    with transaction.atomic():
        request = (
            TransitionRequest.objects.select_for_update()
            .select_related("model_version__registered_model")
            .get(pk=request.pk)
        )
        check_four_eyes(actor, request)
        if not request.is_pending:
            raise ValidationError(
                f"This request is already {request.get_status_display().lower()}."
            )
        if request.decisions.filter(approver=actor).exists():
            raise ValidationError("You have already decided on this request.")
        decision = Decision.objects.create(
            request=request,
            approver=actor,
            approver_username=actor.get_username(),
            approver_groups=group_names(actor),
            outcome=outcome,
            reason=reason,
        )
        moved = {}
        if outcome == Decision.Outcome.REJECT:
            _close(request, TransitionRequest.Status.REJECTED)
        else:
            approvals = list(request.decisions.filter(outcome=Decision.Outcome.APPROVE))
            # The stricter of the policy it was opened under and the one now in force.
            done, progress = policy_satisfied(effective_policy(request), approvals)
            if done:
                moved = _apply(request, actor)
        _event(
            actor,
            f"transition.{outcome}",
            request,
            after={
                "decision": decision.pk,
                "reason": reason,
                "approver_groups": decision.approver_groups,
                "stage_change": moved or None,
            },
        )
        if not request.is_pending:
            _notify(request, "decided", actor)
    return decision


def _close(request, status):
    request.status = status
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])


def _apply(request, actor) -> dict:
    version = request.model_version
    if request.kind == TransitionRequest.Kind.NORMAL:
        blocked = failing(evaluate_gates(version, effective_policy(request)))
        if blocked:
            raise ValidationError(gate_failure_message(blocked) + " The approval was not recorded.")
    moved = {}
    if version.stage != request.target_stage:
        moved = move_to_stage(
            version,
            request.target_stage,
            archive_previous=request.archive_previous,
            actor=actor,
        )
    _close(request, TransitionRequest.Status.APPROVED)
    return moved


def comment_add(*, actor, request: TransitionRequest, body: str) -> RequestComment:
    body = required_text(body, "A comment", field="body")
    model = request.model_version.registered_model
    access.require(actor, model, "view")
    is_party = request.requested_by_id == actor.pk or access.allows(actor, model, "approve")
    if not is_party or access.is_auditor(actor):
        raise PermissionDenied("Only the requester and the model's approvers can comment.")
    with transaction.atomic():
        comment = RequestComment.objects.create(
            request=request, author=actor, author_username=actor.get_username(), body=body
        )
        _event(actor, "transition.comment", request, after={"comment": comment.pk, "body": body})
    return comment


def _notify(request, what: str, actor) -> None:
    version = request.model_version
    job_queue(
        task=NOTIFY_TRANSITION_TASK,
        kind="notification",
        actor=actor,
        registered_model_id=version.registered_model_id,
        model_version_id=version.pk,
        result={"request": request.pk, "event": what},
    )
