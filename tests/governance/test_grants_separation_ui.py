"""Issue 13, separation of duties, through the pages: the Access page, the Django admin, the
approval queue and the MLflow API. The attacker is a governed user: dana, a data scientist
who registered a model and so manages it, with sam, another data scientist who is not in
Approvers.
"""

import io

from django.contrib.auth.models import Group
from django.urls import reverse
from guardian.shortcuts import assign_perm

from governance import access, selectors
from governance.models import AuditEvent
from governance.services import decision_record, transition_request_open
from registry.models import (
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
    Stage,
)
from tests.conftest import client_for
from tests.factories import make_model, make_user, make_version
from tests.governance.grants_helpers import (
    APPROVE,
    admin_url,
    model_permission,
    open_production,
    ready,
    role,
)

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


def test_admin_cannot_grant_approve_to_a_data_scientist(registry_admin, sam, model):
    client = client_for(registry_admin)
    events = AuditEvent.objects.count()
    response = client.post(
        admin_url(RegisteredModelUserObjectPermission, "add"),
        {"content_object": model.pk, "user": sam.pk, "permission": model_permission("approve").pk},
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
        {
            "content_object": model.pk,
            "user": avery.pk,
            "permission": model_permission("approve").pk,
        },
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
            "permission": model_permission("approve").pk,
        },
    )
    assert response.status_code == 200 and b"Only the Approvers or Compliance" in response.content
    response = client.post(
        admin_url(RegisteredModelGroupObjectPermission, "add"),
        {
            "content_object": model.pk,
            "group": role(access.ROLE_APPROVERS).pk,
            "permission": model_permission("approve").pk,
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
    manage = grants.get(user=scientist, content_object=model, permission=model_permission("manage"))
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
        url,
        {
            "content_object": model.pk,
            "user": viewer.pk,
            "permission": model_permission("manage").pk,
        },
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
