"""Issue 13, separation of duties: who may grant approve, to whom, and when it counts.

The attacker is a governed user: dana, a data scientist who registered a model and so
manages it, with sam, another data scientist who is not in Approvers. Routes: the grant
service, the Access page, the Django admin, and grants written straight to the database.
This module covers the service and the rules; test_grants_separation_ui.py the pages, the
admin and the MLflow API; the shared helpers are in grants_helpers.py, sam and cora in
tests/conftest.py.
"""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from guardian.shortcuts import assign_perm

from governance import access, selectors
from governance.models import AuditEvent, TransitionRequest
from governance.services import (
    alias_set,
    decision_record,
    emergency_rollback,
    grant_assign,
    grant_revoke,
)
from governance.tasks import eligible_approvers
from registry.models import RegisteredModel, Stage
from registry.services import model_create
from tests.conftest import client_for
from tests.factories import make_user, make_version
from tests.governance.grants_helpers import APPROVE, grant_events, open_production, ready, role

# --- Who may grant approve, and to whom ---------------------------------------------------


def test_a_manager_cannot_grant_approve_to_a_data_scientist(scientist, sam, model):
    events = grant_events()
    with pytest.raises(PermissionDenied, match="Only registry admins and Compliance"):
        grant_assign(actor=scientist, registered_model=model, action="approve", user=sam)
    assert not access.allows(sam, model, "approve")
    assert grant_events() == events


def test_a_manager_cannot_grant_approve_to_herself_or_to_a_real_approver(
    scientist, approver, model
):
    access.revoke(model, "approve", user=approver)
    for target in (scientist, approver):
        with pytest.raises(PermissionDenied):
            grant_assign(actor=scientist, registered_model=model, action="approve", user=target)
    with pytest.raises(PermissionDenied):
        grant_assign(
            actor=scientist,
            registered_model=model,
            action="approve",
            group=role(access.ROLE_APPROVERS),
        )
    assert not access.allows(scientist, model, "approve")


def test_a_manager_cannot_revoke_approve(scientist, approver, model):
    with pytest.raises(PermissionDenied, match="Only registry admins and Compliance"):
        grant_revoke(actor=scientist, registered_model=model, action="approve", user=approver)
    assert access.allows(approver, model, "approve")


def test_a_manager_still_shares_view_change_and_manage(scientist, sam, model):
    for action in ("view", "change", "manage"):
        grant_assign(actor=scientist, registered_model=model, action=action, user=sam)
    assert access.rights(sam, model) == {"view", "change", "manage"}


def test_approve_goes_only_to_approvers_even_from_an_admin(registry_admin, sam, team, model):
    with pytest.raises(ValidationError, match="only approvers can be granted approve"):
        grant_assign(actor=registry_admin, registered_model=model, action="approve", user=sam)
    with pytest.raises(ValidationError, match="Only the Approvers or Compliance groups"):
        grant_assign(actor=registry_admin, registered_model=model, action="approve", group=team)
    # The low-level grant refuses it too (the service is not the only caller).
    with pytest.raises(ValidationError):
        access.grant(model, "approve", user=sam)
    with pytest.raises(ValidationError):
        access.grant(model, "approve", group=team)
    assert not access.allows(sam, model, "approve")


def test_admins_and_compliance_assign_approvers(registry_admin, cora, model, audit_count):
    avery = make_user("avery", access.ROLE_APPROVERS)
    audit_count.reset()
    grant_assign(actor=registry_admin, registered_model=model, action="approve", user=avery)
    assert access.allows(avery, model, "approve")
    # Compliance may assign approvers on a model it can see, without managing it...
    access.grant(model, "view", user=cora)
    bea = make_user("bea", access.ROLE_APPROVERS)
    grant_assign(actor=cora, registered_model=model, action="approve", user=bea)
    grant_revoke(actor=cora, registered_model=model, action="approve", user=avery)
    assert access.allows(bea, model, "approve") and not access.allows(avery, model, "approve")
    # ... but shares nothing else: that is the managers'.
    with pytest.raises(PermissionDenied, match="managers"):
        grant_assign(actor=cora, registered_model=model, action="change", user=bea)
    events = AuditEvent.objects.filter(action__startswith="grant.").order_by("id")
    assert [(e.action, e.registered_model_id) for e in events] == [
        ("grant.assign", model.pk),
        ("grant.assign", model.pk),
        ("grant.revoke", model.pk),
    ]
    assert audit_count() == 3


def test_compliance_cannot_assign_on_a_model_it_cannot_see(cora, model):
    bea = make_user("bea", access.ROLE_APPROVERS)
    with pytest.raises(PermissionDenied):
        grant_assign(actor=cora, registered_model=model, action="approve", user=bea)


def test_an_auditor_in_compliance_grants_nothing(auditor, model):
    auditor.groups.add(role(access.ROLE_COMPLIANCE))
    bea = make_user("bea", access.ROLE_APPROVERS)
    with pytest.raises(PermissionDenied):
        grant_assign(actor=auditor, registered_model=model, action="approve", user=bea)


def test_granting_what_is_already_held_changes_nothing_and_records_nothing(
    scientist, viewer, registry_admin, approver, model
):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="vic already holds view .*nothing changed"):
        grant_assign(actor=scientist, registered_model=model, action="view", user=viewer)
    with pytest.raises(ValidationError, match="already holds approve"):
        grant_assign(actor=registry_admin, registered_model=model, action="approve", user=approver)
    assert AuditEvent.objects.count() == events


# --- When approve counts ------------------------------------------------------------------


def test_a_stale_approve_grant_to_a_data_scientist_decides_nothing(
    scientist, sam, model, ready_version
):
    """The red-team path: sam holds approve (written before this rule, or straight into the
    database) and tries to approve dana's Production request and move @champion."""
    assign_perm(APPROVE, sam, model)
    assert access.rights(sam, model) == {"view", "change"}  # via the team; approve is gone
    assert not RegisteredModel.objects.restrict(sam, "approve").exists()
    request = open_production(scientist, ready_version)
    assert list(selectors.approval_queue(sam)) == []
    with pytest.raises(PermissionDenied):
        decision_record(actor=sam, request=request, outcome="approve", reason="lgtm")
    response = client_for(sam).post(
        reverse("governance:request-decide", args=[request.pk]),
        {"outcome": "approve", "reason": "lgtm"},
    )
    assert response.status_code == 403
    ready_version.refresh_from_db()
    assert ready_version.stage != Stage.PRODUCTION
    with pytest.raises(PermissionDenied, match="protected"):
        alias_set(actor=sam, registered_model=model, alias="champion", version=ready_version)
    with pytest.raises(PermissionDenied):
        emergency_rollback(actor=sam, registered_model=model, reason="x")
    assert sam not in eligible_approvers(request)  # not notified either


def test_a_manager_holding_approve_on_her_own_model_cannot_move_champion(
    scientist, model, ready_version
):
    assign_perm(APPROVE, scientist, model)
    with pytest.raises(PermissionDenied, match="protected"):
        alias_set(actor=scientist, registered_model=model, alias="champion", version=ready_version)


def test_a_stale_group_grant_counts_only_for_its_approver_members(sam, team, model):
    assign_perm(APPROVE, team, model)  # dana's team, as an old grant
    assert not access.allows(sam, model, "approve")
    avery = make_user("avery", access.ROLE_APPROVERS, team.name)
    assert access.allows(avery, model, "approve")


def test_approve_stops_counting_when_someone_leaves_approvers(approver, model):
    assert access.allows(approver, model, "approve")
    approver.groups.remove(role(access.ROLE_APPROVERS))
    assert not access.allows(approver, model, "approve")  # the same user object
    assert not RegisteredModel.objects.restrict(approver, "approve").exists()
    approver.groups.add(role(access.ROLE_COMPLIANCE))
    assert access.allows(approver, model, "approve")


def test_registry_admins_do_not_approve_unless_they_are_approvers(registry_admin, model):
    assert "approve" not in access.rights(registry_admin, model)
    assert access.rights(registry_admin, model) == {"view", "manage"}


# --- Default approvers ----------------------------------------------------------------------


def test_a_new_model_is_decided_by_approvers_without_any_admin_action(
    default_approvers, scientist, team, django_capture_on_commit_callbacks
):
    avery = make_user("avery", access.ROLE_APPROVERS)
    model = model_create(actor=scientist, name="new-model", team=team)
    assert access.rights(avery, model) == {"view", "approve"}
    event = AuditEvent.objects.get(action="model.create", registered_model_id=model.pk)
    assert event.after["grants"]["Approvers"] == ["approve"]
    assert event.after["grants"]["Compliance"] == ["approve"]
    version = ready(model, make_version(scientist, model))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(scientist).post(
            reverse("governance:request-open", args=[model.name, version.version]),
            {"target_stage": "Staging", "justification": "first cut"},
            follow=True,
        )
    assert b"the model&#x27;s approvers have been notified" in response.content
    assert b"Nobody can decide" not in response.content
    request = TransitionRequest.objects.get(model_version=version)
    assert list(selectors.approval_queue(avery)) == [request]
    queue = client_for(avery).get(reverse("governance:queue"))
    assert request.get_absolute_url().encode() in queue.content
    assert [m.to for m in mail.outbox if "Approval needed" in m.subject] == [["avery@example.com"]]


def test_the_mlflow_api_create_path_gets_default_approvers(default_approvers, scientist, team):
    from governance.services.tokens import token_create

    avery = make_user("avery", access.ROLE_APPROVERS)
    raw = token_create(actor=scientist, name="ci", scope="write")[1]
    response = client_for(None).post(
        "/api/2.0/mlflow/registered-models/create",
        {"name": "from-the-pipeline"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200, response.content
    model = RegisteredModel.objects.get(name="from-the-pipeline")
    assert access.allows(avery, model, "approve")
    assert not access.allows(scientist, model, "approve")


def test_the_setting_names_only_approver_roles():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={
            "ATTEST_DEFAULT_APPROVER_GROUPS": "Approvers,Data scientists",
            "SECRET_KEY": "x",
            "DEBUG": "true",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "may only name Approvers and Compliance, not Data scientists" in result.stderr


# --- A request nobody can decide ------------------------------------------------------------


def test_a_request_nobody_can_decide_says_so(scientist, registry_admin, model, ready_version):
    """No approver on the model (default approvers off, none assigned): the requester is not
    told that approvers were notified, and the request page says nobody can decide it, to
    the requester and to the admins who could fix it."""
    url = reverse("governance:request-open", args=[model.name, ready_version.version])
    response = client_for(scientist).post(
        url, {"target_stage": "Staging", "justification": "first cut"}, follow=True
    )
    page = response.content.decode()
    assert "notified" not in page
    assert "Nobody can decide this request" in page and 'id="nobody-can-decide"' in page
    request = TransitionRequest.objects.get(model_version=ready_version)
    admin_page = client_for(registry_admin).get(request.get_absolute_url()).content.decode()
    assert 'id="nobody-can-decide"' in admin_page
    # Once an admin assigns an approver, the warning goes.
    avery = make_user("avery", access.ROLE_APPROVERS)
    grant_assign(actor=registry_admin, registered_model=model, action="approve", user=avery)
    page = client_for(scientist).get(request.get_absolute_url()).content.decode()
    assert 'id="nobody-can-decide"' not in page


def test_the_requester_holding_approve_is_no_decider(scientist, model, ready_version):
    scientist.groups.add(role(access.ROLE_APPROVERS))
    access.grant(model, "approve", user=scientist)
    request = open_production(scientist, ready_version)
    assert "Nobody can decide" in selectors.nobody_can_decide(request, [])


def test_a_required_group_without_an_approver_is_named(
    scientist, approver, model, ready_version, registry_admin
):
    from governance.models import ApprovalPolicy

    policy = ApprovalPolicy.objects.get(target_stage="Production", risk_class="any")
    policy.required_groups.set([role(access.ROLE_COMPLIANCE)])
    request = open_production(scientist, ready_version)
    why = selectors.nobody_can_decide(request, [])
    assert "needs an approval from Compliance" in why
    cole = make_user("cole", access.ROLE_COMPLIANCE)
    grant_assign(actor=registry_admin, registered_model=model, action="approve", user=cole)
    assert selectors.nobody_can_decide(request, []) is None
