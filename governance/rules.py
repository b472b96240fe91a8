"""The lifecycle's rules, each written once: who may decide, four-eyes, whether a policy is
satisfied, which right an action needs, who may talk on or withdraw a request, what a
protected alias may point at, when a risk-class change is governed.

Services enforce these rules (they raise) and selectors, template tags and pages ask them
(to explain, or to offer only what would be allowed); both import them from here, so a
page never disagrees with the write behind it. Nothing here writes: the functions are
predicates (`may_*`, `is_*`), the reason a rule refuses (`*_refusal`, a sentence or
None), or that reason raised as PermissionDenied (`require_*`, `check_*`). This module
imports no service and no selector."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from governance import access
from governance.models import ProtectedAlias, RiskClassChangeRequest, TransitionRequest
from registry.models import ModelVersion, RegisteredModel, RiskClass, Stage

# The stages a version reaches only through an approved transition request.
GATED = (Stage.STAGING, Stage.PRODUCTION)


# --- Deciding a transition request ----------------------------------------------------


def four_eyes_refusal(user, request: TransitionRequest) -> str | None:
    """Nobody decides a request they opened or a version they uploaded."""
    if request.requested_by_id == user.pk:
        return "Four-eyes rule: you opened this request, someone else decides it."
    if request.model_version.created_by_id == user.pk:
        return "Four-eyes rule: you uploaded this version, someone else decides."
    return None


def check_four_eyes(user, request: TransitionRequest) -> None:
    refusal = four_eyes_refusal(user, request)
    if refusal is not None:
        raise PermissionDenied(refusal)


def require_decider(user, request: TransitionRequest) -> None:
    """PermissionDenied (403) unless `user` holds approve on the model (in a way that
    counts: access.approve_counts) and the four-eyes rule lets them decide. Whether the
    request is still open is the service's question."""
    access.require(user, request.model_version.registered_model, "approve")
    check_four_eyes(user, request)


def missing_groups(policy: dict, approvals) -> list[str]:
    """The policy's required groups no approval came from yet."""
    return [
        g
        for g in policy.get("required_groups", [])
        if not any(g in d.approver_groups for d in approvals)
    ]


def policy_satisfied(policy: dict, approvals) -> tuple[bool, str]:
    """Whether `approvals` (approve decisions) satisfy `policy`: enough distinct approvers,
    and one from each required group; with the progress in words."""
    needed = policy.get("required_approvals", 1)
    approvers = {d.approver_username for d in approvals}
    missing = missing_groups(policy, approvals)
    if len(approvers) < needed:
        return False, f"{len(approvers)} of {needed} approvals"
    if missing:
        return False, f"still needs an approval from {', '.join(missing)}"
    return True, "policy satisfied"


# --- Talking on and withdrawing a request -----------------------------------------------


def may_comment(user, request: TransitionRequest) -> bool:
    """The requester and the model's approvers talk on a request; auditors only read."""
    if access.is_auditor(user):
        return False
    return request.requested_by_id == user.pk or access.allows(
        user, request.model_version.registered_model, "approve"
    )


def require_commenter(user, request: TransitionRequest) -> None:
    if not may_comment(user, request):
        raise PermissionDenied("Only the requester and the model's approvers can comment.")


def is_requester(user, request) -> bool:
    """Whether `user` opened `request` (a transition or a risk-class change request) and
    may act as its requester: auditors never do."""
    return request.requested_by_id == user.pk and not access.is_auditor(user)


def require_requester(user, request: TransitionRequest) -> None:
    if not is_requester(user, request):
        raise PermissionDenied("Only the person who opened a request can withdraw it.")


def may_withdraw(user, request: TransitionRequest) -> bool:
    """Whether the page offers `user` to withdraw `request`: its requester, while it is
    pending; a post-hoc review of an emergency rollback is never withdrawn."""
    return (
        request.is_pending
        and request.kind == TransitionRequest.Kind.NORMAL
        and is_requester(user, request)
    )


# --- Archiving and aliases ----------------------------------------------------------------


def archive_right(version: ModelVersion) -> str:
    """The right archiving `version` needs: taking a version out of Production is a
    governed change (approve); any other version may be archived by who may change it."""
    return "approve" if version.stage == Stage.PRODUCTION else "change"


def is_protected(alias: str) -> bool:
    """Whether `alias` is a protected alias (names compare without case)."""
    return ProtectedAlias.objects.filter(name__iexact=alias).exists()


def alias_right(protected: bool) -> str:
    """Moving a protected alias needs approve; any other alias, change."""
    return "approve" if protected else "change"


def may_edit_aliases(user, model: RegisteredModel) -> bool:
    """Whether `user` may move some alias of `model` (plain ones with change, protected
    ones with approve): the aliases page's form; auditors never."""
    return not access.is_auditor(user) and (
        access.allows(user, model, "change") or access.allows(user, model, "approve")
    )


def alias_target_refusal(
    alias: str, version: ModelVersion, *, protected: bool | None = None
) -> str | None:
    """A protected alias points only at a version in Production. (`protected`, if the
    caller knows it; otherwise it is looked up when the version is not in Production.)"""
    if version.stage == Stage.PRODUCTION:
        return None
    if protected is None:
        protected = is_protected(alias)
    if protected:
        return (
            f"@{alias} is protected: it can only point at a version approved for Production "
            f"(v{version.version} is in {version.stage})."
        )
    return None


# --- Risk class -----------------------------------------------------------------------------

# Higher is stricter. "unclassified" ranks lowest: declassifying a model is lowering it.
RISK_RANK = {
    RiskClass.UNCLASSIFIED: 0,
    RiskClass.MINIMAL: 1,
    RiskClass.LIMITED: 2,
    RiskClass.HIGH: 3,
}
LIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def risk_label(risk_class: str) -> str:
    return dict(RiskClass.choices).get(risk_class, risk_class)


def governed_because(model: RegisteredModel, to_class: str) -> str | None:
    """Why changing `model`'s risk class to `to_class` needs a Compliance decision, in
    words, or None when it may apply at once. Reads the stored state."""
    current = model.risk_class
    if to_class == current:
        return None
    if RISK_RANK.get(to_class, 0) < RISK_RANK.get(current, 0):
        return f"it lowers the risk class from {risk_label(current)} to {risk_label(to_class)}"
    live = (
        model.versions.filter(stage__in=LIVE_STAGES)
        .order_by("stage", "version")  # "Production" sorts before "Staging"
        .values_list("version", "stage")
        .first()
    )
    if live is not None:
        return f"v{live[0]} is in {live[1]}"
    return None


def compliance_deciders(request: RiskClassChangeRequest) -> list:
    """The Compliance members who may decide `request`: active, not auditors, not the
    requester, and able to see the model."""
    members = (
        get_user_model()
        .objects.filter(groups__name=access.ROLE_COMPLIANCE, is_active=True)
        .exclude(pk=request.requested_by_id)
        .order_by("username")
    )
    model = request.registered_model
    return [u for u in members if not access.is_auditor(u) and access.allows(u, model, "view")]


def risk_decision_refusal(
    user, request: RiskClassChangeRequest, deciders: list | None = None
) -> str | None:
    """Why `user` may not decide the risk-class change `request`, or None if they may.
    `deciders` is compliance_deciders(request), if the caller has it already."""
    if user is None or not user.is_authenticated or not user.is_active:
        return "Sign in to decide."
    if access.is_auditor(user):
        return "Auditors are read-only: they never decide."
    if request.requested_by_id == user.pk:
        return "Four-eyes rule: you asked for this change, someone else decides it."
    if not access.allows(user, request.registered_model, "view"):
        return "You cannot see this model."
    deciders = compliance_deciders(request) if deciders is None else deciders
    if deciders:
        if any(u.pk == user.pk for u in deciders):
            return None
        return f"Risk-class changes are decided by the {access.ROLE_COMPLIANCE} group."
    if access.is_registry_admin(user):
        return None
    return (
        f"Risk-class changes are decided by the {access.ROLE_COMPLIANCE} group, or by "
        "registry admins while no Compliance member can decide this one."
    )
