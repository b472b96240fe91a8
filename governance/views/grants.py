"""The access page of a model: who holds what, and granting or revoking it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from governance import access, selectors
from governance.forms import GrantForm, RevokeForm, add_service_errors
from governance.services import grant_assign, grant_revoke
from governance.services.grants import may_grant
from registry import selectors as registry_selectors


def _grantable(user, model) -> tuple[str, ...]:
    """What `user` may grant and revoke on `model`: view/change/manage as a manager,
    approve as a registry admin or Compliance. 403 if nothing (404 if not visible)."""
    grantable = tuple(a for a in access.ACTIONS if may_grant(user, model, a))
    if not grantable:
        raise PermissionDenied("Only the model's managers, registry admins and Compliance.")
    return grantable


def _model(request, name):
    model = registry_selectors.model_get(request.user, name)
    return model, _grantable(request.user, model)


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


@require_http_methods(["GET", "POST"])
def model_access(request, name):
    model, grantable = _model(request, name)
    if request.method == "GET":
        return _render(request, model, grantable)
    form = GrantForm(request.POST, grantable=grantable)
    if form.is_valid():
        data = form.cleaned_data
        try:
            grant_assign(
                actor=request.user,
                registered_model=model,
                action=data["permission"],
                user=data["user"],
                group=data["group"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc, field=form.subject_field)
        else:
            messages.success(request, f"Granted {data['permission']} to {_subject(data)}.")
            return redirect(reverse("governance:model-access", args=[model.name]))
    return _render(request, model, grantable, grant_form=form, status=400)


@require_POST
def model_access_revoke(request, name):
    model, grantable = _model(request, name)
    form = RevokeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            grant_revoke(
                actor=request.user,
                registered_model=model,
                action=data["permission"],
                user=data.get("user"),
                group=data.get("group"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Revoked {data['permission']} from {_subject(data)}.")
            return redirect(reverse("governance:model-access", args=[model.name]))
    return _render(request, model, grantable, revoke_form=form, status=400)
