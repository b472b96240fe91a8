"""The profile page's API tokens: create (shown once), list with last use, revoke; and the
registry admins' list of everyone's tokens."""

import contextlib

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.views import ServiceFormView
from governance import access
from governance.models import PersonalToken
from governance.services.tokens import all_tokens, token_create, token_revoke, tokens_for


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What will use it, e.g. “fraud training pipeline”.",
        error_messages={"required": "Give the token a name."},
    )
    scope = forms.ChoiceField(
        label="Access",
        choices=PersonalToken.Scope.choices,
        initial=PersonalToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read-write tokens can do what you can do; read-only ones only read.",
    )
    expires_at = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. Leave empty for a token that lasts until revoked.",
    )

    def clean_expires_at(self):
        day = self.cleaned_data.get("expires_at")
        if day is None:
            return None
        moment = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
        if moment <= timezone.now():
            raise ValidationError("Choose a date in the future.")
        return moment


class TokenList(ServiceFormView):
    """The user's tokens and the form that makes one; a new token is shown once, on the
    page the form posted to (no redirect, never cached)."""

    form_class = TokenForm
    template_name = "governance/tokens.html"

    def perform(self, form):
        return token_create(
            actor=self.request.user,
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
            tokens=tokens_for(self.request.user), is_admin_view=False, **kwargs
        )

    def render_form(self, form, **kwargs):
        response = super().render_form(form, **kwargs)
        response["Cache-Control"] = "no-store"  # a new token is on this page once
        return response


@require_http_methods(["GET"])
def token_list_all(request):
    if not access.is_registry_admin(request.user):
        raise PermissionDenied("Only registry admins see everyone's tokens.")
    return render(
        request,
        "governance/tokens_all.html",
        {"tokens": all_tokens(request.user).order_by("user__username", "-created_at")},
    )


@require_POST
def token_revoke_view(request, pk):
    if access.is_registry_admin(request.user):
        token = get_object_or_404(PersonalToken.objects.select_related("user"), pk=pk)
    else:
        token = get_object_or_404(tokens_for(request.user), pk=pk)  # others' are 404
    with contextlib.suppress(ValidationError):  # already revoked: nothing to do
        token_revoke(actor=request.user, token=token)
    target = request.POST.get("next")
    if target == "all" and access.is_registry_admin(request.user):
        return redirect("governance:token-list-all")
    return redirect("governance:token-list")
