"""Reads with rules for the lifecycle pages. Each starts from restrict(): no grant, no row."""

from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, prefetch_related_objects
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from governance import access, rules
from governance.models import (
    ComplianceDocument,
    Decision,
    ProtectedAlias,
    RiskClassChangeRequest,
    TransitionRequest,
)
from governance.policy import (
    Gate,
    effective_policy,
    evaluate_gates,
    failing,
    policies_for,
    policy_snapshot,
)
from governance.rules import GATED
from registry.models import ModelAlias, ModelVersion, RegisteredModel, RiskClass, Stage

PENDING = TransitionRequest.Status.PENDING
QUEUE_SCOPES = {"": "Awaiting my decision", "all": "All pending on my models"}


# --- One request ----------------------------------------------------------------------


def request_get(user, pk: int) -> TransitionRequest:
    """A request the user may see (anyone who can view its model); 404 otherwise."""
    visible = TransitionRequest.objects.restrict(user, few_rows=True).select_related(
        "model_version__registered_model__team", "model_version__created_by", "requested_by"
    )
    return get_object_or_404(visible, pk=pk)


def decision_refusal(user, request: TransitionRequest, decisions: list[Decision]) -> str | None:
    """Why `user` cannot decide `request` now, or None if they can (for the page)."""
    four_eyes = rules.four_eyes_refusal(user, request)
    if four_eyes is not None:  # first: the requester should read why, not "no grant"
        return four_eyes
    try:
        rules.require_decider(user, request)
    except PermissionDenied as exc:
        return str(exc)
    if not request.is_pending:
        return f"This request is {request.get_status_display().lower()}."
    if any(d.approver_id == user.pk for d in decisions):
        return "You have already decided on this request."
    return None


@dataclass
class Progress:
    done: bool
    summary: str
    approvals: int
    needed: int
    required_groups: list[str]
    missing_groups: list[str] = field(default_factory=list)


def request_policy(request: TransitionRequest) -> dict:
    """The policy the request is decided under: the stricter of its snapshot and the
    policy in force now (governance.policy.effective_policy)."""
    return effective_policy(request)


def request_progress(
    request: TransitionRequest, decisions: list[Decision], policy: dict | None = None
) -> Progress:
    policy = policy if policy is not None else request_policy(request)
    approvals = [d for d in decisions if d.outcome == Decision.Outcome.APPROVE]
    done, summary = rules.policy_satisfied(policy, approvals)
    return Progress(
        done=done,
        summary=summary,
        approvals=len({d.approver_username for d in approvals}),
        needed=policy.get("required_approvals", 1),
        required_groups=list(policy.get("required_groups", [])),
        missing_groups=rules.missing_groups(policy, approvals),
    )


def request_gates(request: TransitionRequest, policy: dict | None = None) -> list[Gate]:
    """The gates of the request's effective policy, evaluated on the version as it is now."""
    policy = policy if policy is not None else request_policy(request)
    return evaluate_gates(request.model_version, policy)


def possible_deciders(request: TransitionRequest):
    """The active users who could decide `request` now: holding approve on its model in a
    way that counts (access.approve_counts: in Approvers or Compliance, or a superuser),
    not auditors, not its requester nor the version's uploader, not yet decided on it."""
    from django.contrib.auth import get_user_model

    version = request.model_version
    model = version.registered_model
    approve = access.codename("approve", RegisteredModel)
    app_label = RegisteredModel._meta.app_label
    granted = get_users_with_perms(model, only_with_perms_in=[approve], with_group_users=True)
    permission = Permission.objects.filter(codename=approve, content_type__app_label=app_label)
    model_wide = Q(user_permissions__in=permission) | Q(groups__permissions__in=permission)
    holders = get_user_model().objects.filter(
        Q(pk__in=granted.values("pk")) | Q(is_superuser=True) | model_wide
    )
    in_role = Q(is_superuser=True) | Q(groups__name__in=access.APPROVER_ROLES)
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=holders.values("pk"))
        .filter(pk__in=get_user_model().objects.filter(in_role).values("pk"))
        .exclude(groups__name=access.ROLE_AUDITORS)
        .exclude(pk__in=[request.requested_by_id, version.created_by_id])
        .exclude(pk__in=Decision.objects.filter(request_id=request.pk).values("approver_id"))
        .order_by("username")
    )


def nobody_can_decide(request: TransitionRequest, decisions: list[Decision]) -> str | None:
    """Why nobody can bring `request` to a decision (a pending request only), or None:
    no possible decider at all, too few for the approvals still needed, or a required
    group of the policy with no possible decider among its members."""
    if not request.is_pending:
        return None
    deciders = list(possible_deciders(request).prefetch_related("groups"))
    if not deciders:
        return (
            "Nobody can decide this request: no approver other than its requester and the "
            "version's uploader holds approve on this model. A registry admin or Compliance "
            "must assign an approver."
        )
    progress = request_progress(request, decisions)
    missing = [
        g
        for g in progress.missing_groups
        if not any(g in {x.name for x in u.groups.all()} for u in deciders)
    ]
    if missing:
        return (
            f"Nobody can decide this request: its policy needs an approval from "
            f"{', '.join(missing)}, and no member of it who could decide holds approve on "
            "this model. A registry admin must assign one."
        )
    still_needed = progress.needed - progress.approvals
    if still_needed > len(deciders):
        return (
            f"Nobody can complete this request: it needs {still_needed} more approvals "
            f"and only {len(deciders)} approver(s) can still decide it."
        )
    return None


# --- The approval queue ---------------------------------------------------------------


def _awaiting(queryset, user):
    """Requests `user` can still decide: not their own, not on a version they uploaded,
    and not already decided by them."""
    decided = Decision.objects.filter(request=OuterRef("pk"), approver_id=user.pk)
    return queryset.exclude(
        Q(requested_by_id=user.pk) | Q(model_version__created_by_id=user.pk)
    ).exclude(Exists(decided))


UNDECIDABLE = "undecidable"
UNDECIDABLE_SCAN = 200  # pending requests looked at for that scope, oldest first


def queue_scopes(user) -> dict:
    """The queue's scopes; those who assign approvers also find the requests nobody can
    decide (they are in nobody's queue)."""
    if access.may_grant_approve(user):
        return QUEUE_SCOPES | {UNDECIDABLE: "Nobody can decide (assign an approver)"}
    return QUEUE_SCOPES


def approval_queue(user, *, model="", team="", stage="", risk="", scope=""):
    """Pending requests on models `user` holds approve on (directly or through a group),
    oldest first; by default only those they can still decide. For registry admins and
    Compliance, scope "undecidable" lists instead the pending requests they can see that
    nobody can decide (a list, each row's `undecidable` saying why; the oldest
    UNDECIDABLE_SCAN pending requests are looked at)."""
    if scope == UNDECIDABLE and access.may_grant_approve(user):
        qs = TransitionRequest.objects.restrict(user).filter(status=PENDING)
    else:
        qs = TransitionRequest.objects.restrict(user, "approve").filter(status=PENDING)
        if scope != "all":
            qs = _awaiting(qs, user)
    if model:
        qs = qs.filter(model_version__registered_model__name__icontains=model.strip())
    if team:
        qs = qs.filter(model_version__registered_model__team__name=team)
    if stage in GATED:
        qs = qs.filter(target_stage=stage)
    if risk in RiskClass.values:
        qs = qs.filter(model_version__registered_model__risk_class=risk)
    qs = (
        qs.select_related(
            "model_version__registered_model__team", "model_version__created_by", "requested_by"
        )
        .prefetch_related("model_version__artifacts", "model_version__metrics")
        .order_by("created_at", "pk")
    )
    if scope == UNDECIDABLE and access.may_grant_approve(user):
        rows = []
        for request in qs.prefetch_related("decisions")[:UNDECIDABLE_SCAN]:
            request.undecidable = nobody_can_decide(request, list(request.decisions.all()))
            if request.undecidable:
                rows.append(request)
        return rows
    return qs


def approval_count(user) -> int | None:
    """How many requests await `user`'s decision: one COUNT query. None for auditors, who
    approve nothing by construction."""
    if not user.is_authenticated or access.is_auditor(user):
        return None
    count = _awaiting(
        TransitionRequest.objects.restrict(user, "approve").filter(status=PENDING), user
    ).count()
    if may_decide_risk_changes(user):  # Compliance and registry admins only
        count += len(risk_requests_awaiting(user))
    return count


def queue_teams(user):
    """Teams owning a model the user may approve, for the team filter."""
    approvable = RegisteredModel.objects.restrict(user, "approve").filter(team_id=OuterRef("pk"))
    return Group.objects.filter(Exists(approvable)).exclude(name__in=access.ROLES).order_by("name")


def gate_summary(request: TransitionRequest, policies: dict | None = None) -> dict:
    """Pass/fail of the request's gates on its (prefetched) version. With `policies`
    (current_policies(), read once for the page: the approval queue) the gates of its
    effective policy; without, those of its snapshot (the reports' record)."""
    policy = request.policy if policies is None else effective_policy(request, policies=policies)
    gates = evaluate_gates(request.model_version, policy)
    blocked = failing(gates)
    return {"total": len(gates), "failing": blocked, "passed": not blocked}


# --- Per model and per version --------------------------------------------------------


def pending_requests(user, *, model: RegisteredModel | None = None, version=None):
    qs = TransitionRequest.objects.restrict(user, few_rows=True).filter(status=PENDING)
    if version is not None:
        qs = qs.filter(model_version_id=version.pk)
    elif model is not None:
        qs = qs.filter(model_version__registered_model_id=model.pk)
    return qs.select_related("model_version", "requested_by").order_by("created_at", "pk")


@dataclass
class StageGates:
    stage: str
    snapshot: dict
    gates: list[Gate]

    @property
    def passed(self) -> bool:
        return not failing(self.gates)


def version_stage_gates(version: ModelVersion) -> list[StageGates]:
    """What each gated stage would ask of this version now: its policy and the gates."""
    prefetch_related_objects([version], "artifacts", "metrics")
    stages = [stage for stage in GATED if stage != version.stage]
    policies = policies_for(stages, version.registered_model.risk_class)
    result = []
    for stage in stages:
        snapshot = policy_snapshot(policies[stage])
        result.append(StageGates(stage, snapshot, evaluate_gates(version, snapshot)))
    return result


def protected_alias_names() -> set[str]:
    return {name.lower() for name in ProtectedAlias.objects.values_list("name", flat=True)}


def model_aliases(model: RegisteredModel, *, version: ModelVersion | None = None) -> list:
    """The model's (or one version's) aliases, each marked `protected`."""
    qs = ModelAlias.objects.filter(registered_model=model).select_related("model_version")
    if version is not None:
        qs = qs.filter(model_version=version)
    rows = list(qs.order_by(Lower("alias")))
    protected = protected_alias_names() if rows else set()  # most versions have no alias
    for row in rows:
        row.protected = row.alias.lower() in protected
    return rows


def has_production_version(model: RegisteredModel) -> bool:
    return model.versions.filter(stage=Stage.PRODUCTION).exists()


def production_versions(model: RegisteredModel):
    """The model's versions in Production (the caller has checked the model is visible)."""
    return model.versions.filter(stage=Stage.PRODUCTION).order_by("-version")


def version_by_number(model: RegisteredModel, number: int) -> ModelVersion | None:
    """One version of a model the caller has already checked, or None."""
    return model.versions.select_related("registered_model").filter(version=number).first()


# --- Who holds what on a model ----------------------------------------------------------


@dataclass
class Holder:
    kind: str  # "user" or "group"
    pk: int
    name: str
    actions: list[str]
    members: list[str] = field(default_factory=list)
    is_auditor: bool = False
    # Holds approve but is not an approver role (or a member of one): a grant from before
    # approve was kept to approvers, which counts for nobody (or only approver members).
    stale_approve: bool = False

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.pk}"


def _actions(codenames) -> list[str]:
    held = {c.split("_", 1)[0] for c in codenames}
    return [a for a in access.ACTIONS if a in held]


def model_access(model: RegisteredModel) -> dict:
    """Direct grants to users and grants through groups (with their members)."""
    users = get_users_with_perms(model, attach_perms=True, with_group_users=False)
    auditor_ids = set(
        Group.objects.filter(name=access.ROLE_AUDITORS).values_list("user__id", flat=True)
    )
    approver_ids = set(
        Group.objects.filter(name__in=access.APPROVER_ROLES).values_list("user__id", flat=True)
    )
    direct = sorted(
        (
            Holder(
                "user",
                u.pk,
                u.get_username(),
                _actions(perms),
                is_auditor=u.pk in auditor_ids,
                stale_approve=(
                    "approve" in _actions(perms) and not u.is_superuser and u.pk not in approver_ids
                ),
            )
            for u, perms in users.items()
        ),
        key=lambda h: h.name.lower(),
    )
    by_group = get_groups_with_perms(model, attach_perms=True)
    groups = Group.objects.filter(pk__in=[g.pk for g in by_group]).prefetch_related(
        Prefetch("user_set", queryset=_active_users())
    )
    perms = {g.pk: p for g, p in by_group.items()}
    through = sorted(
        (
            Holder(
                "group",
                g.pk,
                g.name,
                _actions(perms[g.pk]),
                members=[u.get_username() for u in g.user_set.all()],
                stale_approve=(
                    "approve" in _actions(perms[g.pk]) and g.name not in access.APPROVER_ROLES
                ),
            )
            for g in groups
        ),
        key=lambda h: h.name.lower(),
    )
    return {"direct": direct, "groups": through}


def approver_candidates() -> list[str]:
    """Usernames of the active users who may be granted approve (Approvers, Compliance;
    never auditors), for the access page."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=access.APPROVER_ROLES)
        .exclude(groups__name=access.ROLE_AUDITORS)
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )


def _active_users():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True).order_by("username")


# --- Compliance documents (e.g. the declaration of conformity) ---------------------------


def compliance_documents(user, version: ModelVersion, kind: str = ""):
    """The version's compliance documents the user may see, newest first."""
    qs = ComplianceDocument.objects.restrict(user, few_rows=True).filter(
        model_version_id=version.pk
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("uploaded_by").order_by("-uploaded_at", "-id")


def compliance_document_get(user, name: str, number: int, pk: int) -> ComplianceDocument:
    """One compliance document of a version the user may see; 404 otherwise."""
    visible = ComplianceDocument.objects.restrict(user, few_rows=True).select_related(
        "model_version__registered_model"
    )
    return get_object_or_404(
        visible,
        pk=pk,
        model_version__version=number,
        model_version__registered_model__name=name,
    )


# --- Risk-class change requests -----------------------------------------------------------


def risk_request_get(user, pk: int) -> RiskClassChangeRequest:
    """A risk-class change request the user may see (anyone who can view its model)."""
    visible = RiskClassChangeRequest.objects.restrict(user, few_rows=True).select_related(
        "registered_model__team", "requested_by"
    )
    return get_object_or_404(visible, pk=pk)


def pending_risk_request(user, model: RegisteredModel) -> RiskClassChangeRequest | None:
    """The model's pending risk-class change, if any (the caller has checked the model)."""
    return (
        RiskClassChangeRequest.objects.filter(
            registered_model_id=model.pk, status=RiskClassChangeRequest.Status.PENDING
        )
        .select_related("requested_by")
        .first()
    )


def may_decide_risk_changes(user) -> bool:
    """Whether `user` is someone who decides risk-class changes at all (a Compliance
    member or a registry admin), before asking about any one request."""
    return (
        user.is_authenticated
        and not access.is_auditor(user)
        and (access.has_role(user, access.ROLE_COMPLIANCE) or access.is_registry_admin(user))
    )


def risk_requests_awaiting(user) -> list[RiskClassChangeRequest]:
    """Pending risk-class changes `user` may decide, oldest first (for the approval queue).
    Few rows ever pend, so who may decide each is worked out per request."""
    if not may_decide_risk_changes(user):
        return []
    pending = (
        RiskClassChangeRequest.objects.restrict(user)
        .filter(status=RiskClassChangeRequest.Status.PENDING)
        .exclude(requested_by_id=user.pk)
        .select_related("registered_model__team", "requested_by")
        .order_by("created_at", "pk")
    )
    return [r for r in pending if risk_decision_refusal(user, r) is None]


def risk_decision_refusal(user, request: RiskClassChangeRequest) -> str | None:
    """Why `user` cannot decide `request` (four-eyes, the Compliance rule), or None."""
    return rules.risk_decision_refusal(user, request)


def has_live_version(model: RegisteredModel) -> bool:
    """Whether a version of the model is in Staging or Production (risk changes are then
    governed)."""
    return model.versions.filter(stage__in=[Stage.STAGING, Stage.PRODUCTION]).exists()
