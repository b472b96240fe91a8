"""Issue 13, separation of duties: who may grant approve, to whom, and when it counts.

The attacker is a governed user: dana, a data scientist who registered a model and so
manages it, with sam, another data scientist who is not in Approvers. Routes: the grant
service, the Access page, the Django admin, and grants written straight to the database.
"""

import io

import pytest
from django.contrib.auth.models import Group
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
    model_risk_class_set,
    transition_request_open,
)
from governance.tasks import eligible_approvers
from registry.models import (
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
    Stage,
)
from registry.services import model_create
from tests.conftest import client_for
from tests.factories import make_model, make_user, make_version

APPROVE = access.codename("approve", RegisteredModel)


@pytest.fixture
def audit_count():
    """Audit events since the last `audit_count.reset()` (signing a client in writes one)."""
    state = {"start": AuditEvent.objects.count()}

    def count():
        return AuditEvent.objects.count() - state["start"]

    count.reset = lambda: state.update(start=AuditEvent.objects.count())
    return count


def ready(model, version):
    model_risk_class_set(
        actor=model.created_by, registered_model=model, risk_class="limited", rationale="x"
    )
    version.artifacts.update(scan_status="clean")
    return version


def role(name):
    return Group.objects.get_or_create(name=name)[0]


@pytest.fixture
def sam(db, team):
    """Another data scientist, in dana's team, not an approver."""
    return make_user("sam", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def cora(db):
    """Compliance, with no grant of her own on the model."""
    return make_user("cora", access.ROLE_COMPLIANCE)


def open_production(actor, version):
    return transition_request_open(
        actor=actor, version=version, target_stage="Production", justification="Better AUC"
    )


def grant_events():
    return AuditEvent.objects.filter(action__startswith="grant.").count()


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


# --- The Access page ------------------------------------------------------------------------


def test_access_page_offers_approve_only_to_admins_and_compliance(
    scientist, registry_admin, cora, model
):
    url = reverse("governance:model-access", args=[model.name])
    owner_page = client_for(scientist).get(url).content.decode()
    assert '<option value="approve"' not in owner_page
    assert '<option value="manage"' in owner_page
    admin_page = client_for(registry_admin).get(url).content.decode()
    assert '<option value="approve"' in admin_page and "Approver roles" in admin_page
    assert 'list="approver-candidates"' in admin_page
    access.grant(model, "view", user=cora)
    compliance_page = client_for(cora).get(url)
    assert compliance_page.status_code == 200
    page = compliance_page.content.decode()
    assert '<option value="approve"' in page and '<option value="change"' not in page
    assert url in client_for(cora).get(model.get_absolute_url()).content.decode()


def test_access_page_refuses_approve_from_a_manager(scientist, sam, model, audit_count):
    url = reverse("governance:model-access", args=[model.name])
    client = client_for(scientist)
    audit_count.reset()
    for data in (
        {"user": "sam", "permission": "approve"},
        {"user": "dana", "permission": "approve"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400
        page = response.content.decode()
        assert "Only registry admins and Compliance grant approve." in page
        assert 'data-field="permission"' in page and f'value="{data["user"]}"' in page
    assert audit_count() == 0 and not access.allows(sam, model, "approve")


def test_access_page_puts_the_not_an_approver_error_beside_the_user(
    registry_admin, sam, model, audit_count
):
    url = reverse("governance:model-access", args=[model.name])
    client = client_for(registry_admin)
    audit_count.reset()
    response = client.post(url, {"user": "sam", "permission": "approve"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "sam is not in Approvers or Compliance" in page and 'value="sam"' in page
    assert audit_count() == 0


def test_access_page_revoke_of_approve_by_a_manager_is_forbidden(scientist, approver, model):
    url = reverse("governance:model-access", args=[model.name])
    page = client_for(scientist).get(url).content.decode()
    assert '<th scope="row">avery' in page  # listed ...
    assert 'name="permission" value="approve"' not in page  # ... without a revoke button
    response = client_for(scientist).post(
        reverse("governance:model-access-revoke", args=[model.name]),
        {"subject": f"user:{approver.pk}", "permission": "approve"},
    )
    assert response.status_code == 403
    assert access.allows(approver, model, "approve")


def test_access_page_marks_a_stale_approve_grant(registry_admin, sam, model):
    assign_perm(APPROVE, sam, model)
    url = reverse("governance:model-access", args=[model.name])
    page = client_for(registry_admin).get(url).content.decode()
    assert "inactive: not an approver" in page
    # An admin can clear it up.
    response = client_for(registry_admin).post(
        reverse("governance:model-access-revoke", args=[model.name]),
        {"subject": f"user:{sam.pk}", "permission": "approve"},
    )
    assert response.status_code == 302
    assert (
        not RegisteredModelUserObjectPermission.objects.filter(user=sam)
        .filter(permission__codename=APPROVE)
        .exists()
    )


# --- The Django admin -----------------------------------------------------------------------


def admin_url(model_cls, view, *args):
    meta = model_cls._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def _permission(action):
    from django.contrib.auth.models import Permission

    return Permission.objects.get(
        codename=access.codename(action, RegisteredModel), content_type__app_label="registry"
    )


def test_admin_cannot_grant_approve_to_a_data_scientist(registry_admin, sam, model):
    client = client_for(registry_admin)
    events = AuditEvent.objects.count()
    response = client.post(
        admin_url(RegisteredModelUserObjectPermission, "add"),
        {"content_object": model.pk, "user": sam.pk, "permission": _permission("approve").pk},
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"sam is not in Approvers or Compliance" in response.content
    assert AuditEvent.objects.count() == events
    assert not access.allows(sam, model, "approve")


def test_admin_grant_goes_through_the_service_with_the_model_id(registry_admin, model):
    avery = make_user("avery", access.ROLE_APPROVERS)
    client = client_for(registry_admin)
    events = AuditEvent.objects.count()
    response = client.post(
        admin_url(RegisteredModelUserObjectPermission, "add"),
        {"content_object": model.pk, "user": avery.pk, "permission": _permission("approve").pk},
    )
    assert response.status_code == 302, response.content
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "grant.assign" and event.registered_model_id == model.pk
    assert event.after == {"permission": "approve", "to": "user:avery"}
    assert access.allows(avery, model, "approve")
    # Group grants too; a team cannot be given approve.
    response = client.post(
        admin_url(RegisteredModelGroupObjectPermission, "add"),
        {
            "content_object": model.pk,
            "group": model.team_id,
            "permission": _permission("approve").pk,
        },
    )
    assert response.status_code == 200 and b"Only the Approvers or Compliance" in response.content
    response = client.post(
        admin_url(RegisteredModelGroupObjectPermission, "add"),
        {
            "content_object": model.pk,
            "group": role(access.ROLE_APPROVERS).pk,
            "permission": _permission("approve").pk,
        },
    )
    assert response.status_code == 302
    assert AuditEvent.objects.latest("id").registered_model_id == model.pk


def test_admin_revoke_goes_through_the_service_and_spares_the_last_manager(
    registry_admin, scientist, viewer, model
):
    client = client_for(registry_admin)
    grants = RegisteredModelUserObjectPermission.objects
    view_grant = grants.get(user=viewer, content_object=model)
    events = AuditEvent.objects.count()
    response = client.post(
        admin_url(RegisteredModelUserObjectPermission, "delete", view_grant.pk), {"post": "yes"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "grant.revoke" and event.registered_model_id == model.pk
    assert not access.allows(viewer, model, "view")
    manage = grants.get(user=scientist, content_object=model, permission=_permission("manage"))
    url = admin_url(RegisteredModelUserObjectPermission, "delete", manage.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert grants.filter(pk=manage.pk).exists()
    assert AuditEvent.objects.count() == events + 1


def test_admin_grants_are_never_edited_in_place_nor_bulk_deleted(registry_admin, viewer, model):
    client = client_for(registry_admin)
    grant = RegisteredModelUserObjectPermission.objects.get(user=viewer, content_object=model)
    url = admin_url(RegisteredModelUserObjectPermission, "change", grant.pk)
    response = client.post(
        url, {"content_object": model.pk, "user": viewer.pk, "permission": _permission("manage").pk}
    )
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.permission.codename == access.codename("view", RegisteredModel)
    changelist = client.get(admin_url(RegisteredModelUserObjectPermission, "changelist"))
    assert b"delete_selected" not in changelist.content


def test_adding_someone_to_approvers_in_the_admin_is_audited(registry_admin, sam):
    client = client_for(registry_admin)
    page = client.get(admin_url(type(sam), "change", sam.pk))
    assert page.status_code == 200 and b'name="is_superuser"' not in page.content
    groups = [g.pk for g in sam.groups.all()] + [role(access.ROLE_APPROVERS).pk]
    data = {
        "username": "sam",
        "email": "sam@example.com",
        "is_active": "on",
        "groups": groups,
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "account_expiry-TOTAL_FORMS": "0",
        "account_expiry-INITIAL_FORMS": "0",
        "account_expiry-MIN_NUM_FORMS": "0",
        "account_expiry-MAX_NUM_FORMS": "1",
        "is_superuser": "on",  # read-only for a registry admin: ignored
    }
    response = client.post(admin_url(type(sam), "change", sam.pk), data)
    assert response.status_code == 302, response.content
    event = AuditEvent.objects.latest("id")
    assert event.action == "admin.user.change"
    assert access.ROLE_APPROVERS not in event.before["groups"]
    assert access.ROLE_APPROVERS in event.after["groups"]
    sam.refresh_from_db()
    assert not sam.is_superuser


def test_role_groups_cannot_be_renamed_in_the_admin(registry_admin):
    approvers = role(access.ROLE_APPROVERS)
    page = client_for(registry_admin).get(admin_url(Group, "change", approvers.pk))
    assert page.status_code == 200 and b'name="name"' not in page.content


def test_a_version_uploaded_by_an_approver_is_not_theirs_to_decide(
    default_approvers, scientist, team
):
    model = make_model(scientist, name="m2", team=team)
    avery = make_user("avery", access.ROLE_APPROVERS)
    access.grant(model, "change", user=avery)
    version = ready(model, make_version(avery, model))
    request = transition_request_open(
        actor=scientist, version=version, target_stage="Staging", justification="x"
    )
    assert "Nobody can decide" in selectors.nobody_can_decide(request, [])


def test_admins_find_the_requests_nobody_can_decide_in_the_queue(
    scientist, registry_admin, approver, model, ready_version, team
):
    orphan = make_model(scientist, name="orphan", team=team)
    orphan_version = ready(orphan, make_version(scientist, orphan))
    stuck = open_production(scientist, orphan_version)
    fine = open_production(scientist, ready_version)  # avery can decide this one
    url = reverse("governance:queue")
    page = client_for(registry_admin).get(url, {"scope": "undecidable"}).content.decode()
    assert "Nobody can decide (assign an approver)" in page
    assert stuck.get_absolute_url() in page and fine.get_absolute_url() not in page
    assert "1 request that nobody can decide" in page and "nobody can decide</span>" in page
    # Not a scope for approvers: they get their own queue.
    page = client_for(approver).get(url, {"scope": "undecidable"}).content.decode()
    assert "Nobody can decide (assign" not in page
    assert fine.get_absolute_url() in page and stuck.get_absolute_url() not in page


def test_a_model_wide_approve_permission_counts_only_for_approvers(sam, team, model):
    """The admin's user and group pages can give the registry-wide approve permission;
    to a data scientist, or to a team, it decides nothing."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(codename=APPROVE, content_type__app_label="registry")
    sam.user_permissions.add(permission)
    team.permissions.add(permission)
    sam = type(sam).objects.get(pk=sam.pk)  # Django caches permissions on the object
    assert not access.allows(sam, model, "approve")
    assert not RegisteredModel.objects.restrict(sam, "approve").exists()
    avery = make_user("avery", access.ROLE_APPROVERS)
    avery.user_permissions.add(permission)
    assert access.allows(avery, model, "approve")


def test_existing_models_get_the_default_approvers_by_command(
    scientist, team, model, settings, registry_admin
):
    from django.core.management import call_command

    avery = make_user("avery", access.ROLE_APPROVERS)
    assert not access.allows(avery, model, "approve")  # created before the defaults
    settings.ATTEST_DEFAULT_APPROVER_GROUPS = [access.ROLE_APPROVERS, access.ROLE_COMPLIANCE]
    role(access.ROLE_COMPLIANCE)
    out = io.StringIO()
    call_command("assign_default_approvers", "--dry-run", stdout=out)
    assert "fraud-detector: approve to Approvers, Compliance" in out.getvalue()
    assert not access.allows(avery, model, "approve")
    events = AuditEvent.objects.count()
    call_command("assign_default_approvers", stdout=io.StringIO())
    assert access.allows(avery, model, "approve")
    new = AuditEvent.objects.filter(pk__gt=0).order_by("-id")[:2]
    assert AuditEvent.objects.count() == events + 2
    assert {(e.actor_username, e.action, e.registered_model_id, e.source) for e in new} == {
        ("system:default-approvers", "grant.assign", model.pk, "cli")
    }
    out = io.StringIO()
    call_command("assign_default_approvers", stdout=out)  # again: nothing changes
    assert AuditEvent.objects.count() == events + 2 and "0 grant(s) granted." in out.getvalue()


def test_admin_grant_pages_render(registry_admin, viewer, model):
    client = client_for(registry_admin)
    for cls in (RegisteredModelUserObjectPermission, RegisteredModelGroupObjectPermission):
        assert client.get(admin_url(cls, "changelist")).status_code == 200
        assert client.get(admin_url(cls, "add")).status_code == 200
    grant = RegisteredModelUserObjectPermission.objects.get(user=viewer, content_object=model)
    page = client.get(admin_url(RegisteredModelUserObjectPermission, "change", grant.pk))
    assert page.status_code == 200  # read-only
    delete = client.get(admin_url(RegisteredModelUserObjectPermission, "delete", grant.pk))
    assert delete.status_code == 200


def test_a_stale_approve_grant_cannot_move_champion_through_the_mlflow_api(
    scientist, sam, approver, model, ready_version
):
    from governance.services.tokens import token_create
    from registry.models import ModelAlias

    request = open_production(scientist, ready_version)
    decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.PRODUCTION
    assign_perm(APPROVE, sam, model)
    raw = token_create(actor=sam, name="ci", scope="write")[1]
    response = client_for(None).post(
        "/api/2.0/mlflow/registered-models/alias",
        {"name": model.name, "alias": "champion", "version": str(ready_version.version)},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403, response.content
    assert not ModelAlias.objects.filter(alias="champion").exists()
