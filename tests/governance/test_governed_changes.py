"""Separation of duties (issue 13): changes that weaken a control are themselves governed.

The attacker is a governed user: a data scientist holding change (sam, dana) who tries to
lower a model's risk class, to weaken the policy of a pending request by withdrawing and
reopening it, or to take a version out of Production, so that @champion resolves to a
version that is no longer approved."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from governance import access
from governance.models import (
    ApprovalPolicy,
    AuditEvent,
    RiskClassChangeRequest,
    TransitionRequest,
)
from governance.services import (
    alias_set,
    decision_record,
    emergency_rollback,
    model_risk_class_set,
    risk_class_request_decide,
    risk_class_request_open,
    risk_class_request_withdraw,
    transition_request_open,
    transition_request_withdraw,
    version_archive,
)
from registry.models import ModelAlias, Stage
from registry.services.mlflow_support import model_delete, version_delete
from tests.conftest import client_for
from tests.factories import make_user, make_version
from tests.matrix import LOGIN, check_matrix

P = "/api/2.0/mlflow/"


def _open(actor, version, target="Production", **kwargs):
    return transition_request_open(
        actor=actor, version=version, target_stage=target, justification="better", **kwargs
    )


def _approve(actor, request, reason="ok"):
    return decision_record(actor=actor, request=request, outcome="approve", reason=reason)


def _ready(version):
    version.artifacts.update(scan_status="clean")
    return version


@pytest.fixture
def no_card_for_high(db):
    """The default high-risk Production policy also asks for a model card; these tests are
    about approvals and groups, so the card and Annex IV gates are left out."""
    ApprovalPolicy.objects.filter(target_stage="Production", risk_class="high").update(
        require_model_card=False, required_annex_iv_items=""
    )


@pytest.fixture
def api(client):
    from governance.services.tokens import token_create

    def call(user, method, path, data=None):
        raw = token_create(actor=user, name="t", scope="write")[1]
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if method == "get":
            return client.get(path, data or {}, **kwargs)
        return getattr(client, method)(path, data or {}, content_type="application/json", **kwargs)

    return call


@pytest.fixture
def in_production(scientist, approver, ready_version, model):
    """v1 in Production with @champion on it (approved by avery)."""
    _approve(approver, _open(scientist, ready_version))
    ready_version.refresh_from_db()
    alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    return ready_version


# --- Production leaves only through governance ---------------------------------------------


def test_change_only_cannot_archive_the_production_version(scientist, in_production, audit_count):
    before = audit_count()
    with pytest.raises(PermissionDenied, match="approve"):
        version_archive(actor=scientist, version=in_production, reason="make room")
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION and audit_count() == before


def test_change_only_gets_403_on_the_archive_page_of_production(scientist, in_production, model):
    url = reverse("governance:version-archive", args=[model.name, in_production.version])
    client = client_for(scientist)
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "make room"}).status_code == 403
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION
    page = client.get(in_production.get_absolute_url()).content.decode()
    assert url not in page  # the archive form is not offered


def test_change_only_cannot_archive_production_through_the_api(api, scientist, in_production):
    response = api(
        scientist,
        "post",
        P + "model-versions/transition-stage",
        {"name": "fraud-detector", "version": "1", "stage": "Archived"},
    )
    assert response.status_code == 403 and response.json()["error_code"] == "PERMISSION_DENIED"
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION


def test_change_may_still_archive_a_version_not_in_production(scientist, model, ready_version):
    version_archive(actor=scientist, version=ready_version, reason="superseded")
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.ARCHIVED


def test_an_approver_archives_production_and_champion_is_removed(
    approver, in_production, model, audit_count
):
    before = audit_count()
    version_archive(actor=approver, version=in_production, reason="withdrawn from service")
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED
    assert not ModelAlias.objects.filter(alias="champion").exists()
    actions = list(AuditEvent.objects.order_by("-id").values_list("action", "actor_username")[:2])
    assert set(actions) == {("alias.delete", "avery"), ("version.archive", "avery")}
    assert audit_count() == before + 2


def test_an_approver_archives_production_through_the_ui(approver, in_production, model):
    url = reverse("governance:version-archive", args=[model.name, in_production.version])
    response = client_for(approver).post(url, {"reason": "withdrawn"})
    assert response.status_code == 302
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED


def test_promotion_moves_champion_to_the_new_production_version(
    scientist, approver, second_approver, in_production, model
):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2))  # archives v1
    in_production.refresh_from_db()
    assert in_production.stage == Stage.ARCHIVED
    alias = ModelAlias.objects.get(alias="champion")
    assert alias.model_version_id == v2.pk
    event = AuditEvent.objects.filter(action="alias.move").latest("id")
    assert event.actor_username == "bea"
    assert (event.before["version"], event.after["version"]) == (1, 2)


def test_promotion_keeping_the_old_version_leaves_champion(
    scientist, second_approver, in_production, model
):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2, archive_previous=False))
    assert ModelAlias.objects.get(alias="champion").model_version_id == in_production.pk


def test_rollback_moves_champion_back(scientist, approver, second_approver, in_production, model):
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2))
    emergency_rollback(actor=approver, registered_model=model, reason="v2 drifts")
    alias = ModelAlias.objects.get(alias="champion")
    assert alias.model_version_id == in_production.pk
    in_production.refresh_from_db()
    assert in_production.stage == Stage.PRODUCTION


def test_demotion_to_staging_removes_champion_when_nothing_else_is_live(
    scientist, second_approver, in_production
):
    _approve(second_approver, _open(scientist, in_production, target="Staging"))
    in_production.refresh_from_db()
    assert in_production.stage == Stage.STAGING
    assert not ModelAlias.objects.filter(alias="champion").exists()


def test_unprotected_aliases_stay_where_they_are(scientist, approver, in_production, model):
    alias_set(actor=scientist, registered_model=model, alias="candidate", version=in_production)
    version_archive(actor=approver, version=in_production, reason="withdrawn")
    assert ModelAlias.objects.get(alias="candidate").model_version_id == in_production.pk


def test_api_never_resolves_a_protected_alias_to_a_version_outside_production(
    api, scientist, in_production, model
):
    url = P + "registered-models/alias"
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.status_code == 200 and response.json()["model_version"]["version"] == "1"
    # A stale row (written around the services, e.g. by SQL): never served.
    type(in_production).objects.filter(pk=in_production.pk).update(stage=Stage.ARCHIVED)
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.status_code == 404
    assert "not in Production" in response.json()["message"]


def test_api_alias_lookup_follows_production(
    api, scientist, approver, second_approver, in_production, model
):
    url = P + "registered-models/alias"
    v2 = _ready(make_version(scientist, model))
    _approve(second_approver, _open(scientist, v2))
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.json()["model_version"]["version"] == "2"
    emergency_rollback(actor=approver, registered_model=model, reason="v2 drifts")
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.json()["model_version"]["version"] == "1"
    version_archive(actor=approver, version=in_production, reason="retired")
    response = api(scientist, "get", url, {"name": model.name, "alias": "champion"})
    assert response.status_code == 404  # removed: nothing is in Production
    response = api(approver, "get", P + "registered-models/get", {"name": model.name})
    assert "aliases" not in response.json()["registered_model"]


def test_deleting_production_is_refused_even_to_managers(scientist, in_production, model):
    with pytest.raises(PermissionDenied):
        version_delete(actor=scientist, version=in_production)
    with pytest.raises(PermissionDenied):
        model_delete(actor=scientist, registered_model=model)
    assert ModelAlias.objects.filter(alias="champion").exists()


# --- A pending request keeps the stricter policy ----------------------------------------------


def test_pending_request_is_decided_under_the_stricter_current_policy(
    scientist, approver, compliance_officer, second_approver, ready_version, model, no_card_for_high
):
    request = _open(scientist, ready_version)  # limited: "any" policy, one approval
    assert request.policy["required_approvals"] == 1
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )  # raising with nothing in Staging/Production is immediate
    _approve(approver, request)
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.is_pending and ready_version.stage == Stage.NONE
    _approve(second_approver, request)
    request.refresh_from_db()
    assert request.is_pending, "two approvals but none from Compliance"
    _approve(compliance_officer, request)
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.status == TransitionRequest.Status.APPROVED
    assert ready_version.stage == Stage.PRODUCTION


def test_request_page_shows_the_effective_policy(
    scientist, approver, ready_version, model, no_card_for_high
):
    request = _open(scientist, ready_version)
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )
    page = client_for(approver).get(request.get_absolute_url()).content.decode()
    assert "0 of 2 approvals" in page and "Compliance" in page
    assert "stricter" in page


def test_withdraw_and_reopen_cannot_weaken_a_high_risk_request(
    scientist, approver, compliance_officer, ready_version, model, no_card_for_high
):
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )
    request = _open(scientist, ready_version)
    assert request.policy["required_approvals"] == 2
    # The attack: lower the risk class, withdraw, reopen under the "any" policy.
    client_for(scientist).post(
        reverse("governance:model-risk-class", args=[model.name]),
        {"risk_class": "minimal", "rationale": "not really high risk"},
    )
    model.refresh_from_db()
    assert model.risk_class == "high"
    transition_request_withdraw(actor=scientist, request=request)
    reopened = _open(scientist, ready_version)
    assert reopened.policy["required_approvals"] == 2
    assert reopened.policy["required_groups"] == ["Compliance"]
    _approve(approver, reopened)
    reopened.refresh_from_db()
    assert reopened.is_pending


# --- Risk class is governed ----------------------------------------------------------------


@pytest.fixture
def high(scientist, model):
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit decisions"
    )
    model.refresh_from_db()
    return model


def test_lowering_through_the_page_opens_a_request_and_changes_nothing(
    scientist, high, audit_count
):
    before = audit_count()
    response = client_for(scientist).post(
        reverse("governance:model-risk-class", args=[high.name]),
        {"risk_class": "minimal", "rationale": "only a pilot"},
    )
    assert response.status_code == 302
    high.refresh_from_db()
    assert high.risk_class == "high"
    event = AuditEvent.objects.latest("id")
    assert event.action == "risk_class.request"
    written = AuditEvent.objects.order_by("-id")[: audit_count() - before]
    assert [e.action for e in written if not e.action.startswith("auth.")] == [event.action]
    assert event.after["from"] == "high" and event.after["to"] == "minimal"


def test_lowering_through_the_service_is_refused(scientist, high):
    with pytest.raises(ValidationError, match="Compliance"):
        model_risk_class_set(
            actor=scientist, registered_model=high, risk_class="minimal", rationale="pilot"
        )
    high.refresh_from_db()
    assert high.risk_class == "high"


def _lower(actor, model, to="minimal"):
    return risk_class_request_open(
        actor=actor, registered_model=model, risk_class=to, rationale="only a pilot"
    )


def _decide(actor, change, outcome="approve", reason="reviewed the use case"):
    return risk_class_request_decide(actor=actor, request=change, outcome=outcome, reason=reason)


def test_the_requester_never_decides(scientist, high, compliance_officer):
    # Only members of Approvers or Compliance can hold approve: join first, then the grant.
    scientist.groups.add(compliance_officer.groups.get(name=access.ROLE_COMPLIANCE))
    access.grant(high, "approve", user=scientist)
    change = _lower(scientist, high)
    with pytest.raises(PermissionDenied, match="Four-eyes"):
        _decide(scientist, change)
    high.refresh_from_db()
    assert high.risk_class == "high"


def test_a_data_scientist_or_an_approver_cannot_decide(
    scientist, high, approver, compliance_officer
):
    tom = make_user("tom", access.ROLE_DATA_SCIENTISTS)
    access.grant(high, "change", user=tom)
    change = _lower(scientist, high)
    for outsider in (tom, approver):
        with pytest.raises(PermissionDenied, match="Compliance"):
            _decide(outsider, change)
    high.refresh_from_db()
    assert high.risk_class == "high"
    change.refresh_from_db()
    assert change.is_pending


def test_compliance_approves_and_the_change_applies_with_one_event(
    scientist, high, compliance_officer, audit_count
):
    change = _lower(scientist, high)
    before = audit_count()
    _decide(compliance_officer, change, reason="pilot only, no decisions on people")
    high.refresh_from_db()
    change.refresh_from_db()
    assert high.risk_class == "minimal" and change.status == "approved"
    assert audit_count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "risk_class.approve" and event.actor_username == "cole"
    assert event.before["risk_class"] == "high" and event.after["risk_class"] == "minimal"
    assert event.after["reason"] == "pilot only, no decisions on people"


def test_compliance_rejects_and_nothing_changes(scientist, high, compliance_officer):
    change = _lower(scientist, high)
    _decide(compliance_officer, change, outcome="reject", reason="credit decisions stay high")
    high.refresh_from_db()
    assert high.risk_class == "high"
    with pytest.raises(ValidationError, match="already rejected"):
        _decide(compliance_officer, change)


def test_every_decision_needs_a_reason(scientist, high, compliance_officer):
    change = _lower(scientist, high)
    with pytest.raises(ValidationError):
        _decide(compliance_officer, change, reason="  ")
    change.refresh_from_db()
    assert change.is_pending


def test_without_compliance_members_a_registry_admin_decides(scientist, high, registry_admin):
    change = _lower(scientist, high)
    approver = make_user("avery", access.ROLE_APPROVERS)
    access.grant(high, "approve", user=approver)
    with pytest.raises(PermissionDenied):
        _decide(approver, change)
    _decide(registry_admin, change)
    high.refresh_from_db()
    assert high.risk_class == "minimal"


def test_registry_admins_do_not_decide_while_compliance_can(
    scientist, high, registry_admin, compliance_officer
):
    change = _lower(scientist, high)
    with pytest.raises(PermissionDenied, match="Compliance"):
        _decide(registry_admin, change)


def test_raising_with_a_version_in_production_is_a_request(
    scientist, in_production, model, compliance_officer
):
    with pytest.raises(ValidationError, match="v1 is in Production"):
        model_risk_class_set(
            actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
        )
    change = risk_class_request_open(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )
    assert change.governed_because == "v1 is in Production"
    model.refresh_from_db()
    assert model.risk_class == "limited"
    _decide(compliance_officer, change)
    model.refresh_from_db()
    assert model.risk_class == "high"


def test_raising_with_nothing_live_is_immediate(scientist, ready_version, model, audit_count):
    before = audit_count()
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="high", rationale="credit use"
    )
    model.refresh_from_db()
    assert model.risk_class == "high" and audit_count() == before + 1


def test_no_direct_change_while_a_request_pends(scientist, high, compliance_officer):
    change = _lower(scientist, high, to="limited")
    with pytest.raises(ValidationError, match=f"request #{change.pk}"):
        model_risk_class_set(
            actor=scientist, registered_model=high, risk_class="high", rationale="again"
        )
    with pytest.raises(ValidationError, match="waiting"):
        _lower(scientist, high)


def test_only_the_requester_withdraws(scientist, high, compliance_officer, audit_count):
    change = _lower(scientist, high)
    with pytest.raises(PermissionDenied):
        risk_class_request_withdraw(actor=compliance_officer, request=change)
    before = audit_count()
    risk_class_request_withdraw(actor=scientist, request=change)
    change.refresh_from_db()
    assert change.status == "withdrawn" and audit_count() == before + 1
    high.refresh_from_db()
    assert high.risk_class == "high"


def test_read_only_users_cannot_ask(viewer, auditor, high):
    for user in (viewer, auditor):
        with pytest.raises(PermissionDenied):
            _lower(user, high)
    assert not RiskClassChangeRequest.objects.exists()


def test_the_admin_never_edits_the_risk_class(registry_admin, high):

    from governance.admin_site import registry_admin_site
    from registry.models import RegisteredModel

    admin = registry_admin_site._registry[RegisteredModel]
    assert "risk_class" in admin.get_readonly_fields(None)
    client = client_for(registry_admin)
    url = reverse("admin:registry_registeredmodel_change", args=[high.pk])
    client.post(url, {"risk_class": "minimal", "name": high.name})
    high.refresh_from_db()
    assert high.risk_class == "high"


# --- The pages ---------------------------------------------------------------------------------


def test_decide_page_by_role(scientist, high, compliance_officer, approver, auditor):
    change = _lower(scientist, high)
    url = change.get_absolute_url()
    decide = reverse("governance:risk-request-decide", args=[change.pk])
    page = client_for(compliance_officer).get(url).content.decode()
    assert decide in page and "Approve the change" in page
    page = client_for(scientist).get(url).content.decode()
    assert decide not in page and "Four-eyes rule" in page
    assert reverse("governance:risk-request-withdraw", args=[change.pk]) in page
    for user in (scientist, approver, auditor):
        response = client_for(user).post(decide, {"outcome": "approve", "reason": "fine"})
        assert response.status_code == 403, user
    outsider = make_user("olga", access.ROLE_COMPLIANCE)
    assert client_for(outsider).get(url).status_code == 404  # cannot see the model
    high.refresh_from_db()
    assert high.risk_class == "high"
    response = client_for(compliance_officer).post(decide, {"outcome": "approve", "reason": ""})
    assert response.status_code == 400 and b"A reason is required." in response.content
    response = client_for(compliance_officer).post(
        decide, {"outcome": "approve", "reason": "pilot"}
    )
    assert response.status_code == 302
    high.refresh_from_db()
    assert high.risk_class == "minimal"


def test_queue_lists_risk_changes_for_compliance(scientist, high, compliance_officer, approver):
    change = _lower(scientist, high)
    queue = reverse("governance:queue")
    page = client_for(compliance_officer).get(queue).content.decode()
    assert change.get_absolute_url() in page
    page = client_for(approver).get(queue).content.decode()
    assert change.get_absolute_url() not in page
    from governance import selectors

    assert selectors.approval_count(compliance_officer) == 1
    assert selectors.approval_count(approver) == 0
    assert selectors.approval_count(scientist) == 0


def test_model_and_risk_pages_link_the_pending_change(scientist, high, compliance_officer):
    change = _lower(scientist, high)
    for url in (high.get_absolute_url(), reverse("governance:model-risk-class", args=[high.name])):
        page = client_for(scientist).get(url).content.decode()
        assert change.get_absolute_url() in page, url


def test_risk_page_keeps_input_when_refused(scientist, high, compliance_officer):
    _lower(scientist, high, to="limited")
    response = client_for(scientist).post(
        reverse("governance:model-risk-class", args=[high.name]),
        {"risk_class": "minimal", "rationale": "my careful rationale"},
    )
    assert response.status_code == 400
    assert b"waiting for a Compliance decision" in response.content
    assert b"my careful rationale" in response.content


@pytest.fixture
def roles(
    scientist, other_scientist, viewer, auditor, approver, compliance_officer, registry_admin
):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "auditor": auditor,
        "approver": approver,
        "admin": registry_admin,
        "compliance": compliance_officer,
        "requester": scientist,
    }


def test_risk_request_pages_matrix(roles, scientist, high):
    change = _lower(scientist, high)
    url = change.get_absolute_url()
    seen = {"anonymous": LOGIN, "no_grant": 404}
    check_matrix(roles, url, seen | dict.fromkeys(list(roles)[2:], 200))
    refused = seen | {r: 403 for r in ("viewer", "auditor", "approver", "admin", "requester")}
    check_matrix(
        roles,
        reverse("governance:risk-request-decide", args=[change.pk]),
        refused | {"compliance": 302},
        method="post",
        data={"outcome": "reject", "reason": "stays high"},
        writes_on_success=1,
    )
    change = _lower(scientist, high)
    check_matrix(
        roles,
        reverse("governance:risk-request-withdraw", args=[change.pk]),
        seen
        | {r: 403 for r in ("viewer", "auditor", "approver", "admin", "compliance")}
        | {"requester": 302},
        method="post",
        writes_on_success=1,
    )
    high.refresh_from_db()
    assert high.risk_class == "high"
