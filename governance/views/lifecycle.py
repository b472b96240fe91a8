"""Transition requests and lifecycle actions: thin translations of HTTP into selector reads
and service writes (core.views.ServiceFormView). Out of scope answers 404 (the selectors,
ObjectPermissionMixin), not allowed answers 403 (PermissionDenied, from the checks here or
the services), bad input answers 400 with the form, its errors and everything typed."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from core.views import ServiceFormView
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
)
from governance.models import TransitionRequest
from governance.object_permissions import ObjectPermissionMixin
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
from governance.timeline import stage_name
from registry.models import ModelVersion, RegisteredModel


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


REQUESTS = TransitionRequest.objects.select_related(
    "model_version__registered_model__team", "model_version__created_by", "requested_by"
)


class _RequestAction(ObjectPermissionMixin, ServiceFormView):
    """A form posted from the request page; on an error, that page again with the form."""

    http_method_names = ["post"]
    queryset = REQUESTS
    lookup = {"pk": "pk"}
    form_name = ""  # the request page's context name of this form

    def form_invalid(self, form):
        return _render_request(self.request, self.object, status=400, **{self.form_name: form})

    def get_success_url(self, result):
        return self.object.get_absolute_url()


class RequestDecide(_RequestAction):
    form_class = DecisionForm
    form_name = "decision_form"

    def check_permission(self, transition):
        rules.require_decider(self.request.user, transition)

    def perform(self, form):
        return decision_record(actor=self.request.user, request=self.object, **form.cleaned_data)

    def get_message_level(self, decision):
        # A rejection is no success: a warning banner, not a green one (#19 item 6).
        if self.object.status == TransitionRequest.Status.REJECTED:
            return messages.WARNING
        return messages.SUCCESS

    def get_success_message(self, form, decision):
        self.object.refresh_from_db()
        return _decision_message(decision, self.object)


def _decision_message(decision, transition) -> str:
    version = transition.model_version
    if transition.status == TransitionRequest.Status.APPROVED:
        return f"Approved: {version} is now in {transition.target_stage}."
    if transition.status == TransitionRequest.Status.REJECTED:
        return f"Rejected: {version} stays in {stage_name(version.stage)}."
    decisions = list(transition.decisions.all())
    progress = selectors.request_progress(transition, decisions)
    return f"Your approval is recorded; {progress.summary}."


class RequestWithdraw(_RequestAction):
    form_class = WithdrawForm
    form_name = "withdraw_form"
    success_message = "Request withdrawn."

    def check_permission(self, transition):
        rules.require_requester(self.request.user, transition)

    def perform(self, form):
        return transition_request_withdraw(actor=self.request.user, request=self.object)


class RequestComment(_RequestAction):
    form_class = CommentForm
    form_name = "comment_form"
    success_message = "Comment added."

    def check_permission(self, transition):
        rules.require_commenter(self.request.user, transition)

    def perform(self, form):
        body = form.cleaned_data["body"]
        return comment_add(actor=self.request.user, request=self.object, body=body)

    def get_success_url(self, result):
        return f"{self.object.get_absolute_url()}#comments"


# --- From the version page ------------------------------------------------------------


VERSIONS = ModelVersion.objects.select_related("registered_model__team", "created_by")
MODELS = RegisteredModel.objects.select_related("team", "created_by")


class _VersionForm(ObjectPermissionMixin, ServiceFormView):
    queryset = VERSIONS
    lookup = {"registered_model__name": "name", "version": "number"}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            model=self.object.registered_model, version=self.object, **kwargs
        )


class RequestOpen(_VersionForm):
    action = "change"
    form_class = TransitionRequestForm
    template_name = "governance/request_open.html"

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"current_stage": self.object.stage}

    def perform(self, form):
        return transition_request_open(
            actor=self.request.user, version=self.object, **form.cleaned_data
        )

    def succeeded(self, form, transition):
        undecidable = selectors.nobody_can_decide(transition, [])
        if undecidable:
            messages.warning(
                self.request,
                f"Requested {transition.target_stage} for {self.object}. {undecidable}",
            )
        else:
            messages.success(
                self.request,
                f"Requested {transition.target_stage} for {self.object}; "
                "the model's approvers have been notified.",
            )
        return redirect(transition)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            stage_gates=selectors.version_stage_gates(self.object),
            pending=selectors.pending_requests(self.request.user, version=self.object),
            **kwargs,
        )


class VersionArchive(_VersionForm):
    form_class = ArchiveForm
    template_name = "governance/version_archive.html"
    success_message = "Archived {view.object}."

    def get_action(self, version):
        # Taking a version out of Production is a governed change: approve, not change.
        return rules.archive_right(version)

    def perform(self, form):
        reason = form.cleaned_data["reason"]
        version_archive(actor=self.request.user, version=self.object, reason=reason)
        return self.object


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


class _AliasForm(ObjectPermissionMixin, ServiceFormView):
    """The aliases page (anyone who sees the model) and its two forms (change or approve:
    the service tells which a protected alias needs)."""

    queryset = MODELS

    def check_permission(self, model):
        if self.request.method == "POST":
            _require_alias_right(self.request.user, model)

    def get(self, request, *args, **kwargs):
        return _render_aliases(request, self.object)

    def form_invalid(self, form):
        return _render_aliases(self.request, self.object, status=400, **{self.form_name: form})


class ModelAliases(_AliasForm):
    form_class = AliasForm
    form_name = "form"
    error_field = "alias"

    def perform(self, form):
        number = form.cleaned_data["version"]
        version = selectors.version_by_number(self.object, number)
        if version is None:
            raise ValidationError({"version": f"{self.object} has no version {number}."})
        row = alias_set(
            actor=self.request.user,
            registered_model=self.object,
            alias=form.cleaned_data["alias"],
            version=version,
        )
        return row, version

    def succeeded(self, form, result):
        row, version = result
        messages.success(self.request, f"@{row.alias} now points at v{version.version}.")
        return redirect(_next_or(self.request, version.get_absolute_url()))


class ModelAliasDelete(_AliasForm):
    http_method_names = ["post"]
    form_class = AliasDeleteForm
    form_name = "delete_form"
    success_message = "Removed @{data[alias]}."

    def perform(self, form):
        alias = form.cleaned_data["alias"]
        return alias_delete(actor=self.request.user, registered_model=self.object, alias=alias)

    def get_success_url(self, result):
        return _next_or(self.request, self.object.get_absolute_url())


# --- From the model page --------------------------------------------------------------


class ModelRollback(ObjectPermissionMixin, ServiceFormView):
    queryset = MODELS
    action = "approve"
    form_class = RollbackForm
    template_name = "governance/rollback.html"
    success_message = (
        "Rolled back: {result.model_version} is in Production again. "
        "This post-hoc review must now be decided by another approver."
    )

    def perform(self, form):
        reason = form.cleaned_data["reason"]
        return emergency_rollback(
            actor=self.request.user, registered_model=self.object, reason=reason
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            model=self.object, production=selectors.production_versions(self.object), **kwargs
        )
