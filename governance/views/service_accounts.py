"""Service accounts: the list and the form that makes one (for a team the user manages),
and one account's page: its tokens, a form that mints one (shown once), revoke, and
deactivate. Accounts the user does not manage are 404, as on every other page."""

import contextlib

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from core.views import ServiceFormView
from governance.services.service_accounts import (
    managed_teams,
    service_account_create,
    service_account_deactivate,
    service_account_token_create,
    service_account_token_revoke,
    service_accounts_for,
)
from governance.services.tokens import tokens_for
from governance.views.tokens import TokenForm


class ServiceAccountForm(forms.Form):
    username = forms.CharField(
        label="Name",
        max_length=64,
        help_text="svc- then lower-case letters, digits and hyphens, e.g. svc-nightly-scoring.",
        error_messages={"required": "Give the service account a name."},
    )
    team = forms.ModelChoiceField(
        label="Team", queryset=None, error_messages={"invalid_choice": "Choose one of your teams."}
    )
    description = forms.CharField(
        label="What uses it", max_length=200, required=False, help_text="Optional."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = managed_teams(user).order_by("name")


class ServiceAccountList(ServiceFormView):
    form_class = ServiceAccountForm
    template_name = "governance/service_accounts.html"
    success_message = "Service account {result.user.username} created."

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def perform(self, form):
        data = form.cleaned_data
        return service_account_create(
            actor=self.request.user,
            team=data["team"],
            username=data["username"],
            description=data["description"],
        )

    def succeeded(self, form, result):
        return redirect("governance:service-account-detail", result.pk)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            accounts=service_accounts_for(self.request.user),
            may_create=managed_teams(self.request.user).exists(),
            **kwargs,
        )


def _account(request, pk):
    return get_object_or_404(service_accounts_for(request.user), pk=pk)


class ServiceAccountDetail(ServiceFormView):
    """The account's tokens and the form that mints one, shown once and never cached."""

    form_class = TokenForm
    template_name = "governance/service_account_detail.html"

    def prepare(self):
        self.account = _account(self.request, self.kwargs["pk"])

    def perform(self, form):
        return service_account_token_create(
            actor=self.request.user,
            account=self.account,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=form.cleaned_data["expires_at"],
        )

    def succeeded(self, form, result):
        token, raw = result
        return self.render_form(TokenForm(), created={"token": token, "raw": raw})

    def get_context_data(self, **kwargs):
        kwargs.setdefault("created", None)
        return super().get_context_data(
            account=self.account, tokens=tokens_for(self.account.user), **kwargs
        )

    def render_form(self, form, **kwargs):
        response = super().render_form(form, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


@require_POST
def service_account_token_revoke_view(request, pk, token_pk):
    account = _account(request, pk)
    token = tokens_for(account.user).filter(pk=token_pk).first()
    if token is None:
        raise Http404("No such token.")
    with contextlib.suppress(ValidationError):  # already revoked: nothing to do
        service_account_token_revoke(actor=request.user, account=account, token=token)
    return redirect("governance:service-account-detail", account.pk)


@require_POST
def service_account_deactivate_view(request, pk):
    account = _account(request, pk)
    with contextlib.suppress(ValidationError):  # already deactivated
        service_account_deactivate(actor=request.user, account=account)
    return redirect("governance:service-account-detail", account.pk)
