"""Transition requests and lifecycle actions: thin translations of HTTP into selector reads
and service writes. Out of scope answers 404 (the selectors), not allowed answers 403
(PermissionDenied, from the checks here or the services), bad input answers 400 with the
form, its errors and everything typed."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance import access, rules, selectors
from governance.forms import (
    AliasDeleteForm,
    AliasForm,
    ArchiveForm,
    CommentForm,
    DecisionForm,
    RollbackForm,
    TransitionRequestForm,
    WithdrawForm,
    add_service_errors,
)
from governance.models import TransitionRequest
from governance.services import (
    alias_delete,
    alias_set,
    comment_add,
    decision_record,
    emergency_rollback,
    transition_request_open,
    transition_request_withdraw,
    version_archive,
)
from registry import selectors as registry_selectors


def _bound(request):
    return request.POST if request.method == "POST" else None


def _status(*forms) -> int:
    return 400 if any(f is not None and f.errors for f in forms) else 200


def _next_or(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- The request page -----------------------------------------------------------------


@require_GET
def request_detail(request, pk):
    transition = selectors.request_get(request.user, pk)
    return _render_request(request, transition)


def _render_request(request, transition, *, status=200, **forms):
    user = request.user
    decisions = list(transition.decisions.all())
    refusal = selectors.decision_refusal(user, transition, decisions)
    policy = selectors.request_policy(transition)
    context = {
        "transition": transition,
        "version": transition.model_version,
        "model": transition.model_version.registered_model,
        "decisions": decisions,
        "comments": list(transition.comments.all()),
        "policy": policy,
        "progress": selectors.request_progress(transition, decisions, policy),
        "gates": selectors.request_gates(transition, policy),
        "decide_refusal": refusal,
        "can_decide": refusal is None,
        # The requester and those who assign approvers learn when nobody can decide it.
        "undecidable": selectors.nobody_can_decide(transition, decisions)
        if transition.requested_by_id == user.pk or access.may_grant_approve(user)
        else None,
        "can_comment": rules.may_comment(user, transition),
        "can_withdraw": rules.may_withdraw(user, transition),
        "decision_form": forms.get("decision_form") or DecisionForm(),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
    }
    return render(request, "governance/request_detail.html", context, status=status)


@require_POST
def request_decide(request, pk):
    transition = selectors.request_get(request.user, pk)
    rules.require_decider(request.user, transition)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = decision_record(actor=request.user, request=transition, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            transition.refresh_from_db()
            messages.success(request, _decision_message(decision, transition))
            return redirect(transition)
    return _render_request(request, transition, decision_form=form, status=400)


def _decision_message(decision, transition) -> str:
    version = transition.model_version
    if transition.status == TransitionRequest.Status.APPROVED:
        return f"Approved: {version} is now in {transition.target_stage}."
    if transition.status == TransitionRequest.Status.REJECTED:
        return f"Rejected: {version} stays in {version.stage}."
    decisions = list(transition.decisions.all())
    progress = selectors.request_progress(transition, decisions)
    return f"Your approval is recorded; {progress.summary}."


@require_POST
def request_withdraw(request, pk):
    transition = selectors.request_get(request.user, pk)
    rules.require_requester(request.user, transition)
    form = WithdrawForm(request.POST)
    try:
        transition_request_withdraw(actor=request.user, request=transition)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _render_request(request, transition, withdraw_form=form, status=400)
    messages.success(request, "Request withdrawn.")
    return redirect(transition)


@require_POST
def request_comment(request, pk):
    transition = selectors.request_get(request.user, pk)
    rules.require_commenter(request.user, transition)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment_add(actor=request.user, request=transition, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Comment added.")
            return redirect(f"{transition.get_absolute_url()}#comments")
    return _render_request(request, transition, comment_form=form, status=400)


# --- From the version page ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_open(request, name, number):
    version = registry_selectors.version_get(request.user, name, number, "change")
    form = TransitionRequestForm(_bound(request), current_stage=version.stage)
    if request.method == "POST" and form.is_valid():
        try:
            transition = transition_request_open(
                actor=request.user, version=version, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            undecidable = selectors.nobody_can_decide(transition, [])
            if undecidable:
                messages.warning(
                    request, f"Requested {transition.target_stage} for {version}. {undecidable}"
                )
            else:
                messages.success(
                    request,
                    f"Requested {transition.target_stage} for {version}; "
                    "the model's approvers have been notified.",
                )
            return redirect(transition)
    context = {
        "model": version.registered_model,
        "version": version,
        "form": form,
        "stage_gates": selectors.version_stage_gates(version),
        "pending": selectors.pending_requests(request.user, version=version),
    }
    return render(request, "governance/request_open.html", context, status=_status(form))


@require_http_methods(["GET", "POST"])
def version_archive_view(request, name, number):
    version = registry_selectors.version_get(request.user, name, number)
    # Taking a version out of Production is a governed change: approve, not change.
    access.require(request.user, version.registered_model, rules.archive_right(version))
    form = ArchiveForm(_bound(request))
    if request.method == "POST" and form.is_valid():
        try:
            version_archive(actor=request.user, version=version, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Archived {version}.")
            return redirect(version)
    context = {"model": version.registered_model, "version": version, "form": form}
    return render(request, "governance/version_archive.html", context, status=_status(form))


def _require_alias_right(user, model):
    """Plain aliases need change; protected ones approve (the service tells which)."""
    if not rules.may_edit_aliases(user, model):
        raise PermissionDenied(
            f"Moving aliases of {model} needs change permission (approve for protected ones)."
        )


def _render_aliases(request, model, *, status=200, form=None, delete_form=None):
    context = {
        "model": model,
        "aliases": selectors.model_aliases(model),
        "can_edit": rules.may_edit_aliases(request.user, model),
        "form": form or AliasForm(initial={"version": model.latest_version_number or None}),
        "delete_form": delete_form,
        "next": _next_or(request, ""),
    }
    return render(request, "governance/aliases.html", context, status=status)


@require_http_methods(["GET", "POST"])
def model_aliases(request, name):
    model = registry_selectors.model_get(request.user, name)
    if request.method == "GET":
        return _render_aliases(request, model)
    _require_alias_right(request.user, model)
    form = AliasForm(request.POST)
    if form.is_valid():
        version = selectors.version_by_number(model, form.cleaned_data["version"])
        if version is None:
            form.add_error("version", f"{model} has no version {form.cleaned_data['version']}.")
        else:
            try:
                row = alias_set(
                    actor=request.user,
                    registered_model=model,
                    alias=form.cleaned_data["alias"],
                    version=version,
                )
            except ValidationError as exc:
                add_service_errors(form, exc, field="alias")
            else:
                messages.success(request, f"@{row.alias} now points at v{version.version}.")
                return redirect(_next_or(request, version.get_absolute_url()))
    return _render_aliases(request, model, form=form, status=400)


@require_POST
def model_alias_delete(request, name):
    model = registry_selectors.model_get(request.user, name)
    _require_alias_right(request.user, model)
    form = AliasDeleteForm(request.POST)
    if form.is_valid():
        alias = form.cleaned_data["alias"]
        try:
            alias_delete(actor=request.user, registered_model=model, alias=alias)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Removed @{alias}.")
            return redirect(_next_or(request, model.get_absolute_url()))
    return _render_aliases(request, model, delete_form=form, status=400)


# --- From the model page --------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def model_rollback(request, name):
    model = registry_selectors.model_get(request.user, name, "approve")
    form = RollbackForm(_bound(request))
    if request.method == "POST" and form.is_valid():
        try:
            review = emergency_rollback(
                actor=request.user, registered_model=model, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Rolled back: {review.model_version} is in Production again. "
                "This post-hoc review must now be decided by another approver.",
            )
            return redirect(review)
    context = {
        "model": model,
        "form": form,
        "production": selectors.production_versions(model),
    }
    return render(request, "governance/rollback.html", context, status=_status(form))
