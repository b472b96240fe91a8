"""The risk class of a model: set it, or ask Compliance for a governed change, and the
page where that request is decided. Thin: the services decide what is allowed."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance import access, selectors
from governance.forms import DecisionForm, RiskClassForm, WithdrawForm, add_service_errors
from governance.rules import governed_because
from governance.services import (
    model_risk_class_set,
    risk_class_request_decide,
    risk_class_request_open,
    risk_class_request_withdraw,
)
from registry import selectors as registry_selectors


@require_http_methods(["GET", "POST"])
def model_risk_class(request, name):
    model = registry_selectors.model_get(request.user, name, "change")
    form = RiskClassForm(
        request.POST if request.method == "POST" else None, initial={"risk_class": model.risk_class}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        governed = governed_because(model, data["risk_class"])
        try:
            if governed is None:
                model = model_risk_class_set(actor=request.user, registered_model=model, **data)
            else:
                change = risk_class_request_open(actor=request.user, registered_model=model, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if governed is None:
                messages.success(
                    request, f"Risk class of {model} set to {model.get_risk_class_display()}."
                )
                return redirect(model)
            messages.success(
                request,
                f"This change needs a Compliance decision because {governed}. Request "
                f"#{change.pk} is open; {model} stays {model.get_risk_class_display()} until "
                "it is approved.",
            )
            return redirect(change)
    context = {
        "model": model,
        "form": form,
        "pending_change": selectors.pending_risk_request(request.user, model),
        "live": selectors.has_live_version(model),
    }
    return render(
        request, "governance/risk_class.html", context, status=400 if form.errors else 200
    )


@require_GET
def risk_request_detail(request, pk):
    change = selectors.risk_request_get(request.user, pk)
    return _render(request, change)


def _render(request, change, *, status=200, **forms):
    user = request.user
    refusal = selectors.risk_decision_refusal(user, change) if change.is_pending else None
    context = {
        "change": change,
        "model": change.registered_model,
        "decisions": list(change.decisions.all()),
        "can_decide": change.is_pending and refusal is None,
        "decide_refusal": refusal,
        "can_withdraw": change.is_pending
        and change.requested_by_id == user.pk
        and not access.is_auditor(user),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
    }
    return render(request, "governance/risk_request.html", context, status=status)


@require_POST
def risk_request_decide(request, pk):
    change = selectors.risk_request_get(request.user, pk)
    if change.is_pending:
        refusal = selectors.risk_decision_refusal(request.user, change)
        if refusal is not None:
            raise PermissionDenied(refusal)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = risk_class_request_decide(
                actor=request.user, request=change, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            model = change.registered_model
            model.refresh_from_db()
            if decision.outcome == "approve":
                text = f"Approved: {model} is now {model.get_risk_class_display()}."
            else:
                text = f"Rejected: {model} stays {model.get_risk_class_display()}."
            messages.success(request, text)
            return redirect(change)
    change.refresh_from_db()
    return _render(request, change, decision_form=form, status=400)


@require_POST
def risk_request_withdraw(request, pk):
    change = selectors.risk_request_get(request.user, pk)
    if access.is_auditor(request.user) or change.requested_by_id != request.user.pk:
        raise PermissionDenied("Only the person who asked for a change can withdraw it.")
    form = WithdrawForm(request.POST)
    try:
        risk_class_request_withdraw(actor=request.user, request=change)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _render(request, change, withdraw_form=form, status=400)
    messages.success(request, "Request withdrawn; the risk class is unchanged.")
    return redirect(change)
