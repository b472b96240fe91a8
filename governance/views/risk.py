"""The risk class of a model: set it, or ask Compliance for a governed change, and the
page where that request is decided. Thin: the services decide what is allowed."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.views import ServiceFormView
from governance import access, selectors
from governance.forms import DecisionForm, RiskClassForm, WithdrawForm
from governance.models import RiskClassChangeRequest
from governance.object_permissions import ObjectPermissionMixin
from governance.rules import governed_because
from governance.services import (
    model_risk_class_set,
    risk_class_request_decide,
    risk_class_request_open,
    risk_class_request_withdraw,
)
from registry.models import RegisteredModel


class ModelRiskClass(ObjectPermissionMixin, ServiceFormView):
    """Set the class at once, or, when the change is governed, open a request for it."""

    queryset = RegisteredModel.objects.select_related("team", "created_by")
    action = "change"
    form_class = RiskClassForm
    template_name = "governance/risk_class.html"

    def get_initial(self):
        return {"risk_class": self.object.risk_class}

    def perform(self, form):
        data, model = form.cleaned_data, self.object
        self.governed = governed_because(model, data["risk_class"])
        if self.governed is None:
            return model_risk_class_set(actor=self.request.user, registered_model=model, **data)
        return risk_class_request_open(actor=self.request.user, registered_model=model, **data)

    def get_success_message(self, form, result):
        if self.governed is None:
            return f"Risk class of {result} set to {result.get_risk_class_display()}."
        model = self.object
        return (
            f"This change needs a Compliance decision because {self.governed}. Request "
            f"#{result.pk} is open; {model} stays {model.get_risk_class_display()} until "
            "it is approved."
        )

    def get_context_data(self, **kwargs):
        model = self.object
        return super().get_context_data(
            model=model,
            pending_change=selectors.pending_risk_request(self.request.user, model),
            live=selectors.has_live_version(model),
            **kwargs,
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


class _RiskRequestAction(ObjectPermissionMixin, ServiceFormView):
    """A form posted from the request page; on an error, that page again with the form."""

    http_method_names = ["post"]
    queryset = RiskClassChangeRequest.objects.select_related(
        "registered_model__team", "requested_by"
    )
    lookup = {"pk": "pk"}
    form_name = ""

    def form_invalid(self, form):
        return _render(self.request, self.object, status=400, **{self.form_name: form})

    def get_success_url(self, result):
        return self.object.get_absolute_url()


class RiskRequestDecide(_RiskRequestAction):
    form_class = DecisionForm
    form_name = "decision_form"

    def check_permission(self, change):
        if change.is_pending:
            refusal = selectors.risk_decision_refusal(self.request.user, change)
            if refusal is not None:
                raise PermissionDenied(refusal)

    def perform(self, form):
        return risk_class_request_decide(
            actor=self.request.user, request=self.object, **form.cleaned_data
        )

    def get_success_message(self, form, decision):
        model = self.object.registered_model
        model.refresh_from_db()
        if decision.outcome == "approve":
            return f"Approved: {model} is now {model.get_risk_class_display()}."
        return f"Rejected: {model} stays {model.get_risk_class_display()}."

    def form_invalid(self, form):
        self.object.refresh_from_db()
        return super().form_invalid(form)


class RiskRequestWithdraw(_RiskRequestAction):
    form_class = WithdrawForm
    form_name = "withdraw_form"
    success_message = "Request withdrawn; the risk class is unchanged."

    def check_permission(self, change):
        if access.is_auditor(self.request.user) or change.requested_by_id != self.request.user.pk:
            raise PermissionDenied("Only the person who asked for a change can withdraw it.")

    def perform(self, form):
        return risk_class_request_withdraw(actor=self.request.user, request=self.object)
