"""Transition requests and their decisions: the only way into Staging or Production."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import access, audit, rules
from governance.models import Decision, RequestComment, TransitionRequest
from governance.policy import (
    effective_policy,
    evaluate_gates,
    failing,
    policy_for,
    policy_snapshot,
)
from governance.rules import GATED
from governance.services.common import group_names, required_text, version_ref
from governance.services.lifecycle import version_archive
from governance.services.notifications import DECIDED, OPENED, transition_notify
from governance.stages import move_to_stage
from registry.models import ModelVersion, Stage


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


class ApprovalRequired(PermissionDenied):
    """The change asked for needs an approved transition request; `request` is the one
    pending for it (found, or opened now for the caller). A 403 that names the request."""

    def __init__(self, what: str, request: TransitionRequest):
        self.what = what
        self.request = request
        super().__init__(
            f"{what} needs an approved transition request. Transition request #{request.pk} "
            f"({request.model_version} to {request.target_stage}, {request.status}) is "
            "waiting for approval"
        )


class RequestNotOpened(PermissionDenied):
    """The change needs an approved transition request and none could be opened for it
    (a gate fails, ...): the reasons are in the message."""

    def __init__(self, what: str, target_stage: str, reasons: ValidationError):
        self.reasons = reasons
        super().__init__(
            f"{what} needs an approved transition request to {target_stage}, and one could "
            f"not be opened: {' '.join(reasons.messages)}"
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
        transition_notify(request=request, event=OPENED, actor=actor)
    return request


def pending_transition(version: ModelVersion, target_stage: str) -> TransitionRequest | None:
    """The request pending to move `version` to `target_stage`, if any (one at most)."""
    return TransitionRequest.objects.filter(
        model_version_id=version.pk,
        target_stage=target_stage,
        status=TransitionRequest.Status.PENDING,
    ).first()


def transition_request_ensure(
    *,
    actor,
    version: ModelVersion,
    target_stage: str,
    justification: str,
    what: str,
    archive_previous: bool = True,
) -> TransitionRequest:
    """The pending request to move `version` to `target_stage`: the one already open, or
    one opened now for `actor` (who needs change permission either way, so nobody else
    learns of a pending request). A request that cannot be opened is refused with
    RequestNotOpened, naming `what` was asked and why."""
    access.require(actor, version.registered_model, "change")
    pending = pending_transition(version, target_stage)
    if pending is not None:
        return pending
    try:
        return transition_request_open(
            actor=actor,
            version=version,
            target_stage=target_stage,
            justification=justification,
            archive_previous=archive_previous,
        )
    except ValidationError as exc:
        raise RequestNotOpened(what, target_stage, exc) from exc


def version_stage_set(
    *, actor, version: ModelVersion, stage: str, archive_existing: bool, via: str
) -> ModelVersion:
    """Put `version` in `stage` the way a client that sets stages directly (MLflow's
    transition-stage) asks, under the same rules as the pages: nothing to do when it is
    there already; Archived archives it (version_archive: approve for a Production
    version); back to None is refused (archive it instead); Staging and Production only
    through an approved request: the pending one is found or opened, and ApprovalRequired
    names it. `via` says where the ask came from, for the request's justification."""
    if version.stage == stage:
        return version
    if stage == Stage.ARCHIVED:
        return version_archive(actor=actor, version=version, reason=f"Archived through {via}.")
    if stage not in rules.GATED:
        raise PermissionDenied(
            "Moving a version back to None is not possible in Attest; archive it instead."
        )
    what = f"Moving v{version.version} to {stage}"
    pending = transition_request_ensure(
        actor=actor,
        version=version,
        target_stage=stage,
        justification=f"Requested through {via} (transition-stage to {stage}).",
        what=what,
        archive_previous=archive_existing or stage == Stage.PRODUCTION,
    )
    raise ApprovalRequired(what, pending)


def transition_request_withdraw(*, actor, request: TransitionRequest) -> TransitionRequest:
    access.require(actor, request.model_version.registered_model, "view")
    with transaction.atomic():
        request = TransitionRequest.objects.select_for_update().get(pk=request.pk)
        rules.require_requester(actor, request)
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
        rules.check_four_eyes(actor, request)
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
            done, progress = rules.policy_satisfied(effective_policy(request), approvals)
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
            transition_notify(request=request, event=DECIDED, actor=actor)
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
    rules.require_commenter(actor, request)
    with transaction.atomic():
        comment = RequestComment.objects.create(
            request=request, author=actor, author_username=actor.get_username(), body=body
        )
        _event(actor, "transition.comment", request, after={"comment": comment.pk, "body": body})
    return comment
