"""Reads with rules that used to build their own rule (issue #16) now start from restrict():
the audit log's registry-wide test, the reports and the webhooks a user may see. Each
role's visible set is compared with the rule as it was written before (kept below as the
reference), over a world with every kind of grant, and spot-checked by hand."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db.models import Q

from governance import access, audit_log
from governance.models import AuditEvent, Report, Webhook
from governance.reports.selectors import reports_visible, sees_all_reports
from governance.services.webhooks import webhooks_visible
from registry.models import RegisteredModel
from tests.factories import make_model, make_user

# --- The rules as they were written before restrict() served them ----------------------


def _before_sees_every_model(user) -> bool:
    if user.is_superuser:
        return True
    return any(
        user.has_perm(f"registry.{access.codename(a, RegisteredModel)}") for a in access.ACTIONS
    )


def _before_reports(user):
    if not user.is_authenticated or not user.is_active:
        return Report.objects.none()
    if audit_log.can_read_audit_log(user) and _before_sees_every_model(user):
        return Report.objects.all()
    models = RegisteredModel.objects.restrict(user, "view").values("pk")
    return Report.objects.filter(requested_by=user).filter(
        Q(registered_model_id__isnull=True) | Q(registered_model_id__in=models)
    )


def _before_webhooks(user):
    qs = Webhook.objects.all()
    if access.is_registry_admin(user):
        return qs
    managed = RegisteredModel.objects.restrict(user, "manage").values("pk")
    return qs.filter(registered_model__in=managed)


def _before_events(user):
    if not audit_log.can_read_audit_log(user) or not user.is_active:
        return AuditEvent.objects.none()
    if _before_sees_every_model(user):
        return AuditEvent.objects.all()
    models = RegisteredModel.objects.restrict(user, "view").values("pk")
    scope = Q(registered_model_id__in=models)
    if access.is_registry_admin(user):
        scope |= Q(registered_model_id__isnull=True)
    return AuditEvent.objects.filter(scope)


# --- A world with every kind of grant ----------------------------------------------------


def _report(user, model=None):
    return Report.objects.create(
        kind="audit_trail",
        format="json",
        title="r",
        registered_model_id=model.pk if model else None,
        requested_by=user,
        requested_by_username=user.username,
        keep_until="2036-01-01",
    )


def _hook(user, model=None):
    return Webhook.objects.create(
        name=f"hook-{model.name if model else 'all'}",
        url="https://hooks.example.com/x",
        secret="s",
        events=["model_version.created"],
        registered_model=model,
        created_by=user,
    )


@pytest.fixture(params=["role-wide", "narrow"])
def world(
    request,
    scientist,
    other_scientist,
    viewer,
    team_member,
    approver,
    auditor,
    registry_admin,
    cora,
    model,
):
    other = make_model(other_scientist, name="other-model")
    third = make_model(other_scientist, name="third-model")
    access.grant(third, "manage", user=scientist)
    access.grant(other, "view", user=viewer)
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    # "narrow": the Auditors' and Registry admins' registry-wide permissions taken away.
    if request.param == "narrow":
        for role in (access.ROLE_AUDITORS, access.ROLE_REGISTRY_ADMINS):
            Group.objects.get(name=role).permissions.clear()
    # Another auditor, with one model granted.
    narrow_auditor = make_user("nora", access.ROLE_AUDITORS)
    # Someone given a global manage permission without being a registry admin.
    global_manager = make_user("gil", access.ROLE_DATA_SCIENTISTS)
    global_manager.user_permissions.add(Permission.objects.get(codename="manage_registeredmodel"))
    gone = make_user("ian", access.ROLE_DATA_SCIENTISTS)
    access.grant(model, "view", user=gone)
    access.grant(other, "view", user=narrow_auditor)
    users = [
        scientist,
        other_scientist,
        viewer,
        team_member,
        approver,
        auditor,
        registry_admin,
        cora,
        root,
        narrow_auditor,
        global_manager,
        gone,
    ]
    for user in users:
        _report(user)
        _report(user, model)
        _report(user, other)
    _report(viewer, third)  # a model viewer cannot see
    for m in (model, other, third):
        _hook(m.created_by, m)
    _hook(registry_admin)  # every model's events
    gone.is_active = False
    gone.save()
    return [*[User.objects.get(pk=u.pk) for u in users], AnonymousUser()]


def _ids(qs):
    return sorted(qs.values_list("pk", flat=True))


def test_each_role_sees_the_reports_it_saw_before(world):
    for user in world:
        assert _ids(reports_visible(user)) == _ids(_before_reports(user)), user
        if user.is_authenticated:
            assert sees_all_reports(user) == (
                audit_log.can_read_audit_log(user) and _before_sees_every_model(user)
            ), user


def test_each_role_sees_the_webhooks_it_saw_before(world):
    for user in world:
        if not user.is_active:
            continue  # an inactive user never reaches the pages (and now sees nothing)
        assert _ids(webhooks_visible(user)) == _ids(_before_webhooks(user)), user


def test_each_role_reads_the_audit_events_it_read_before(world):
    for user in world:
        if user.is_authenticated:
            assert audit_log.sees_every_model(user) == _before_sees_every_model(user), user
            assert _ids(audit_log.events_visible(user)) == _ids(_before_events(user)), user


@pytest.mark.parametrize("world", ["role-wide"], indirect=True)
def test_spot_checks(world, scientist, viewer, auditor, registry_admin, model):
    scientist, viewer = User.objects.get(pk=scientist.pk), User.objects.get(pk=viewer.pk)
    # A requester sees their own reports, the one about a model only while they see it.
    assert reports_visible(viewer).count() == 3  # not the one about third-model
    assert set(reports_visible(scientist).values_list("requested_by", flat=True)) == {scientist.pk}
    assert reports_visible(User.objects.get(pk=auditor.pk)).count() == Report.objects.count()
    # Webhooks: those on models the user manages; registry admins see them all.
    assert sorted(h.registered_model.name for h in webhooks_visible(scientist)) == [
        "fraud-detector",
        "third-model",
    ]
    assert not webhooks_visible(viewer).exists()
    admin = User.objects.get(pk=registry_admin.pk)
    assert webhooks_visible(admin).count() == Webhook.objects.count() == 4
    assert not webhooks_visible(AnonymousUser()).exists()
    # Losing the grant takes the model's reports and webhooks with it.
    access.revoke(model, "view", user=viewer)
    assert reports_visible(User.objects.get(pk=viewer.pk)).count() == 2
