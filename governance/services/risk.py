"""The risk class of a model, a governed change.

The risk class picks the approval policy, so lowering it weakens every control on the
model. Classifying a model for the first time (from "unclassified"), and raising the class
while no version is in Staging or Production, apply at once (`model_risk_class_set`).
Anything else (lowering it, or changing it at all once a version is in Staging or
Production) is a `RiskClassChangeRequest`, decided under four-eyes by the Compliance group,
or by registry admins while no Compliance member other than the requester can see the
model. Every decision is final and carries a reason; an approval applies the change in
the same transaction as its audit event."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import access, audit
from governance.models import RiskClassChangeRequest, RiskClassDecision
from governance.rules import governed_because, is_requester, risk_decision_refusal
from governance.rules import risk_label as _label
from governance.services.common import group_names, required_text
from registry.models import RegisteredModel, RiskClass
from registry.search import search_text_refresh


def _validate(risk_class: str, rationale: str) -> str:
    rationale = required_text(rationale, "A rationale", field="rationale")
    if risk_class not in RiskClass.values:
        raise ValidationError({"risk_class": f"Choose one of {', '.join(RiskClass.values)}."})
    return rationale


def _pending(model: RegisteredModel) -> RiskClassChangeRequest | None:
    return RiskClassChangeRequest.objects.filter(
        registered_model=model, status=RiskClassChangeRequest.Status.PENDING
    ).first()


def _pending_error(pending: RiskClassChangeRequest) -> ValidationError:
    return ValidationError(
        {
            "risk_class": (
                f"A change of the risk class to {pending.get_to_class_display()} is waiting "
                f"for a Compliance decision (request #{pending.pk}); it must be decided or "
                "withdrawn first."
            )
        },
        code="pending",
    )


def _apply(model: RegisteredModel, risk_class: str) -> None:
    model.risk_class = risk_class
    model.save(update_fields=["risk_class", "updated_at"])
    search_text_refresh(model)


def model_risk_class_set(
    *, actor, registered_model: RegisteredModel, risk_class: str, rationale: str
) -> RegisteredModel:
    """Set the risk class at once, where that is allowed (see the module docstring);
    anything else is refused with a ValidationError (code "governed") naming why: open a
    request with `risk_class_request_open` instead."""
    access.require(actor, registered_model, "change")
    rationale = _validate(risk_class, rationale)
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        pending = _pending(model)
        if pending is not None:
            raise _pending_error(pending)
        because = governed_because(model, risk_class)
        if because is not None:
            raise ValidationError(
                {
                    "risk_class": (
                        f"This change needs a Compliance decision because {because}: "
                        "open a risk-class change request."
                    )
                },
                code="governed",
            )
        before = {"risk_class": model.risk_class}
        _apply(model, risk_class)
        audit.record(
            actor=actor,
            action="model.risk_class",
            target=model,
            before=before,
            after={"risk_class": risk_class, "rationale": rationale},
            registered_model_id=model.pk,
        )
    return model


def risk_class_request_open(
    *, actor, registered_model: RegisteredModel, risk_class: str, rationale: str
) -> RiskClassChangeRequest:
    """Ask for a change of the risk class; the model keeps its class until the Compliance
    group approves. One pending request per model."""
    access.require(actor, registered_model, "change")
    rationale = _validate(risk_class, rationale)
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=registered_model.pk)
        if risk_class == model.risk_class:
            raise ValidationError({"risk_class": f"{model.name} is already {_label(risk_class)}."})
        pending = _pending(model)
        if pending is not None:
            raise _pending_error(pending)
        because = governed_because(model, risk_class) or "the requester asked for a decision"
        request = RiskClassChangeRequest.objects.create(
            registered_model=model,
            from_class=model.risk_class,
            to_class=risk_class,
            rationale=rationale,
            governed_because=because[:200],
            requested_by=actor,
            requested_by_username=actor.get_username(),
        )
        _event(actor, "risk_class.request", request, after={"rationale": rationale})
    return request


def _event(actor, action, request, *, before=None, after=None):
    audit.record(
        actor=actor,
        action=action,
        target=request,
        before=before,
        after={
            "request": request.pk,
            "model": request.registered_model.name,
            "from": request.from_class,
            "to": request.to_class,
            "status": request.status,
            "governed_because": request.governed_because,
            **(after or {}),
        },
        registered_model_id=request.registered_model_id,
    )


def risk_class_request_decide(
    *, actor, request: RiskClassChangeRequest, outcome: str, reason: str
) -> RiskClassDecision:
    """Approve (the change applies now, atomically) or reject. Final, with a reason."""
    reason = required_text(reason, "A reason")
    if outcome not in RiskClassDecision.Outcome.values:
        raise ValidationError({"outcome": "Approve or reject."})
    with transaction.atomic():
        model = RegisteredModel.objects.select_for_update().get(pk=request.registered_model_id)
        request = RiskClassChangeRequest.objects.select_for_update().get(pk=request.pk)
        request.registered_model = model
        refusal = risk_decision_refusal(actor, request)
        if refusal is not None:
            raise PermissionDenied(refusal)
        if not request.is_pending:
            raise ValidationError(
                f"This request is already {request.get_status_display().lower()}."
            )
        approve = outcome == RiskClassDecision.Outcome.APPROVE
        if approve and model.risk_class != request.from_class:
            raise ValidationError(
                f"The risk class of {model.name} is {_label(model.risk_class)} now, not "
                f"{request.get_from_class_display()} as when this request opened: reject it "
                "and ask for a new one."
            )
        decision = RiskClassDecision.objects.create(
            request=request,
            approver=actor,
            approver_username=actor.get_username(),
            approver_groups=group_names(actor),
            outcome=outcome,
            reason=reason,
        )
        before = {"risk_class": model.risk_class, "status": "pending"}
        if approve:
            _apply(model, request.to_class)
        request.status = (
            RiskClassChangeRequest.Status.APPROVED
            if approve
            else RiskClassChangeRequest.Status.REJECTED
        )
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at"])
        _event(
            actor,
            f"risk_class.{outcome}",
            request,
            before=before,
            after={
                "decision": decision.pk,
                "reason": reason,
                "approver_groups": decision.approver_groups,
                "risk_class": model.risk_class,
                "rationale": request.rationale,
            },
        )
    return decision


def risk_class_request_withdraw(
    *, actor, request: RiskClassChangeRequest
) -> RiskClassChangeRequest:
    access.require(actor, request.registered_model, "view")
    with transaction.atomic():
        request = (
            RiskClassChangeRequest.objects.select_for_update()
            .select_related("registered_model")
            .get(pk=request.pk)
        )
        if not is_requester(actor, request):
            raise PermissionDenied("Only the person who asked for a change can withdraw it.")
        if not request.is_pending:
            raise ValidationError(
                f"This request is already {request.get_status_display().lower()}."
            )
        request.status = RiskClassChangeRequest.Status.WITHDRAWN
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at"])
        _event(actor, "risk_class.withdraw", request, before={"status": "pending"})
    return request
