"""What the governance partials on registry pages need, computed for the signed-in user.

The registry views know nothing of governance; their templates include a governance
partial, and the partial asks these tags for its data (`{% version_governance ... as gov %}`).
"""

from django import template

from governance import access, selectors
from governance.forms import (
    AliasForm,
    ArchiveForm,
    RiskClassForm,
    RollbackForm,
    TransitionRequestForm,
)
from governance.rules import archive_right
from registry.models import Stage

register = template.Library()

GATE_CLASSES = {True: "badge-ok", False: "badge-danger"}


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


def _rights(user, model) -> dict:
    """The write actions the user holds on the model: one query for all three, shared with
    every other check on this model in the request (access.rights)."""
    if user is None or not user.is_authenticated or access.is_auditor(user):
        held = frozenset()  # auditors are read-only: no need to ask
    else:
        held = access.rights(user, model)
    return {action: action in held for action in ("change", "approve", "manage")}


@register.simple_tag(takes_context=True)
def version_governance(context, version):
    """Lifecycle data for the version page: pending requests, what each stage would ask,
    the request, archive and alias forms for those allowed to use them."""
    user = _user(context)
    model = version.registered_model
    rights = _rights(user, model)
    data = {
        "rights": rights,
        "can_alias": rights["change"] or rights["approve"],
        "pending": list(selectors.pending_requests(user, version=version)),
        "aliases": selectors.model_aliases(model, version=version),
    }
    if rights["change"]:
        data["stage_gates"] = selectors.version_stage_gates(version)
        data["request_form"] = TransitionRequestForm(current_stage=version.stage)
    if version.stage != Stage.ARCHIVED and rights[archive_right(version)]:
        data["archive_form"] = ArchiveForm()  # Production: approvers only
    if data["can_alias"]:
        data["alias_form"] = AliasForm(initial={"version": version.version})
    return data


@register.simple_tag(takes_context=True)
def model_governance(context, model):
    """Governance data for the model page: risk class form, pending requests, emergency
    rollback for approvers and the way to the access page for managers."""
    user = _user(context)
    rights = _rights(user, model)
    data = {
        "rights": rights,
        "pending": list(selectors.pending_requests(user, model=model)),
        # Compliance assigns approvers on models it does not manage (the Access page).
        "can_see_access": rights["manage"] or (user is not None and access.may_grant_approve(user)),
    }
    data["risk_change"] = selectors.pending_risk_request(user, model)
    if rights["change"]:
        data["risk_form"] = RiskClassForm(initial={"risk_class": model.risk_class})
    if rights["approve"]:
        data["in_production"] = selectors.has_production_version(model)
        data["rollback_form"] = RollbackForm()
    return data


@register.simple_tag(takes_context=True)
def approvals_nav(context):
    """The count for the navigation link (one COUNT query), or None when the link is not
    for this user: auditors, and people who hold no role of approver and have nothing
    waiting for them."""
    user = _user(context)
    if user is None or not user.is_authenticated:
        return None
    count = selectors.approval_count(user)
    if count is None or (count == 0 and not access.has_role(user, access.ROLE_APPROVERS)):
        return None
    return count


@register.filter
def gate_class(passed):
    return GATE_CLASSES[bool(passed)]


@register.filter
def request_status_class(status):
    return {
        "pending": "badge-staging",
        "approved": "badge-ok",
        "rejected": "badge-danger",
        "withdrawn": "badge-muted",
    }.get(status, "badge-muted")
