"""Webhook endpoints (registry admins, and model managers for their models), their
deliveries, and a "send test" button."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.views import ServiceFormView
from core.web import paginate
from governance import access
from governance.models.webhooks import EVENTS
from governance.services.webhooks import (
    can_manage_webhooks,
    webhook_create,
    webhook_delete,
    webhook_send_test,
    webhooks_visible,
)
from registry.models import RegisteredModel


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "Give it a name."})
    url = forms.URLField(
        label="Endpoint URL",
        max_length=1000,
        assume_scheme="https",
        help_text="Receives a signed JSON POST per event (X-MLflow-Signature header).",
    )
    events = forms.MultipleChoiceField(
        choices=[e for e in EVENTS if e[0] != "webhook.test"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    model = forms.ModelChoiceField(
        queryset=RegisteredModel.objects.none(),
        required=False,
        label="Model",
        help_text="The model whose events are sent.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = (
            RegisteredModel.objects.restrict(user, "manage").defer("search_text").order_by("name")
        )
        if access.is_registry_admin(user):
            self.fields["model"].empty_label = "Every model"
            self.fields["model"].help_text = "Leave empty for every model's events."
        else:
            self.fields["model"].required = True
            self.fields["model"].error_messages["required"] = "Choose a model you manage."


class WebhookList(ServiceFormView):
    """The endpoints the user may see and the form that adds one; the new endpoint's
    signing secret is shown once, on the page the form posted to (never cached)."""

    form_class = WebhookForm
    template_name = "governance/webhooks.html"

    def prepare(self):
        super().prepare()
        if not can_manage_webhooks(self.request.user):
            raise PermissionDenied("Registry admins and model managers manage webhooks.")

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"user": self.request.user}

    def perform(self, form):
        return webhook_create(
            actor=self.request.user,
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            registered_model=form.cleaned_data["model"],
        )

    def succeeded(self, form, result):
        hook, secret = result
        form = WebhookForm(user=self.request.user)
        return self.render_form(form, created={"webhook": hook, "secret": secret})

    def get_context_data(self, **kwargs):
        kwargs.setdefault("created", None)
        return super().get_context_data(webhooks=webhooks_visible(self.request.user), **kwargs)

    def render_form(self, form, **kwargs):
        response = super().render_form(form, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


@require_http_methods(["GET"])
def webhook_detail(request, pk):
    hook = get_object_or_404(webhooks_visible(request.user), pk=pk)
    page = paginate(request, hook.deliveries.all())
    return render(request, "governance/webhooks_detail.html", {"webhook": hook, "page": page})


@require_POST
def webhook_test(request, pk):
    hook = get_object_or_404(webhooks_visible(request.user), pk=pk)
    webhook_send_test(actor=request.user, webhook=hook)
    return redirect("governance:webhook-detail", pk=hook.pk)


@require_POST
def webhook_remove(request, pk):
    hook = get_object_or_404(webhooks_visible(request.user), pk=pk)
    webhook_delete(actor=request.user, webhook=hook)
    return redirect("governance:webhook-list")
