"""The access page of a model: who holds what, and granting or revoking it."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from core.forms import apply_service_error
from core.views import ServiceFormView
from governance import access, selectors
from governance.forms import GrantForm, RevokeForm
from governance.object_permissions import ObjectPermissionMixin
from governance.services import grant_assign, grant_revoke
from governance.services.grants import may_grant
from registry.models import RegisteredModel


def _grantable(user, model) -> tuple[str, ...]:
    """What `user` may grant and revoke on `model`: view/change/manage as a manager,
    approve as a registry admin or Compliance. 403 if nothing (404 if not visible)."""
    grantable = tuple(a for a in access.ACTIONS if may_grant(user, model, a))
    if not grantable:
        raise PermissionDenied("Only the model's managers, registry admins and Compliance.")
    return grantable


def _render(request, model, grantable, *, grant_form=None, revoke_form=None, status=200):
    context = {
        "model": model,
        "holders": selectors.model_access(model),
        "actions": access.ACTIONS,
        "grantable": grantable,
        "grant_form": grant_form or GrantForm(grantable=grantable),
        "revoke_form": revoke_form,
        "approvers": selectors.approver_candidates() if "approve" in grantable else None,
    }
    return render(request, "governance/model_access.html", context, status=status)


def _subject(data) -> str:
    return f"user {data['user']}" if data.get("user") else f"group {data['group']}"


class _AccessForm(ObjectPermissionMixin, ServiceFormView):
    """The access page and its two forms: 404 unless the model is visible, 403 unless the
    user may grant something on it."""

    queryset = RegisteredModel.objects.select_related("team", "created_by")
    form_name = ""

    def check_permission(self, model):
        self.grantable = _grantable(self.request.user, model)

    def get(self, request, *args, **kwargs):
        return _render(request, self.object, self.grantable)

    def form_invalid(self, form):
        return _render(
            self.request, self.object, self.grantable, status=400, **{self.form_name: form}
        )

    def get_success_url(self, result):
        return reverse("governance:model-access", args=[self.object.name])


class ModelAccess(_AccessForm):
    form_class = GrantForm
    form_name = "grant_form"

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"grantable": self.grantable}

    def service_error(self, form, exc):
        apply_service_error(form, exc, field=form.subject_field)

    def perform(self, form):
        data = form.cleaned_data
        return grant_assign(
            actor=self.request.user,
            registered_model=self.object,
            action=data["permission"],
            user=data["user"],
            group=data["group"],
        )

    def get_success_message(self, form, result):
        data = form.cleaned_data
        return f"Granted {data['permission']} to {_subject(data)}."


class ModelAccessRevoke(_AccessForm):
    http_method_names = ["post"]
    form_class = RevokeForm
    form_name = "revoke_form"

    def perform(self, form):
        data = form.cleaned_data
        return grant_revoke(
            actor=self.request.user,
            registered_model=self.object,
            action=data["permission"],
            user=data.get("user"),
            group=data.get("group"),
        )

    def get_success_message(self, form, result):
        data = form.cleaned_data
        return f"Revoked {data['permission']} from {_subject(data)}."
