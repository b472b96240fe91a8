"""access.rights() (every action on one model in one query) and the SQL of restrict()'s
filter (access.Granted), checked against the filter built from querysets."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db import models
from guardian.shortcuts import assign_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from governance import access
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import make_model, make_team, make_user, make_version

ALL = frozenset(access.ACTIONS)


def legacy_grant(obj, action, *, group):
    """A grant written straight through guardian, as before approve was kept to the
    Approvers and Compliance groups (validate_grant refuses it now); it still counts for
    members who are approvers."""
    assign_perm(access.codename(action, type(obj)), group, obj)


def fresh(user):
    """The user as a new request would load it: nothing remembered."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def other_model(other_scientist):
    return make_model(other_scientist, name="other-model")


def test_user_grant(model, other_model):
    user = make_user("uma", access.ROLE_DATA_SCIENTISTS)
    access.grant(model, "change", user=user)
    assert access.rights(user, model) == {"view", "change"}
    assert access.rights(user, other_model) == frozenset()


def test_view_grant_only(model, viewer):
    assert access.rights(viewer, model) == {"view"}


def test_creator_holds_view_change_and_manage(model, scientist):
    assert access.rights(scientist, model) == {"view", "change", "manage"}  # not approve


def test_group_grant(model, other_model):
    reviewers = make_team("Reviewers")
    member = make_user("gus", access.ROLE_APPROVERS, reviewers.name)
    legacy_grant(model, "approve", group=reviewers)
    assert access.rights(member, model) == {"view", "approve"}
    assert access.rights(member, other_model) == frozenset()


def test_user_and_group_grants_add_up(model):
    reviewers = make_team("Reviewers")
    member = make_user("gus", access.ROLE_APPROVERS, reviewers.name)
    legacy_grant(model, "approve", group=reviewers)
    access.grant(model, "manage", user=member)
    assert access.rights(member, model) == {"view", "approve", "manage"}


def test_registry_wide_permissions(model, registry_admin):
    # Registry admins hold view and manage on every model, but not change or approve.
    assert access.rights(registry_admin, model) == {"view", "manage"}
    user = make_user("gale", access.ROLE_APPROVERS)
    user.user_permissions.add(Permission.objects.get(codename="approve_registeredmodel"))
    assert access.rights(fresh(user), model) == {"view", "approve"}


def test_superuser_holds_everything(model):
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    assert access.rights(root, model) == ALL


def test_auditor_only_ever_views(model, auditor):
    assert access.rights(auditor, model) == {"view"}  # the Auditors' registry-wide view
    # Even a write grant that got past validate_grant (written straight through guardian)
    # gives an auditor nothing more.
    assign_perm(access.codename("change", RegisteredModel), auditor, model)
    assign_perm(access.codename("manage", RegisteredModel), auditor, model)
    assert access.rights(fresh(auditor), model) == {"view"}
    auditor.is_superuser = True
    auditor.save()
    assert access.rights(fresh(auditor), model) == {"view"}
    assert not access.allows(fresh(auditor), model, "change")


def test_auditor_without_registry_wide_view_needs_a_grant(model, other_model):
    auditors = Group.objects.get(name=access.ROLE_AUDITORS)
    auditors.permissions.clear()
    auditor = make_user("aldo", access.ROLE_AUDITORS)
    access.grant(model, "view", user=auditor)
    assert access.rights(auditor, model) == {"view"}
    assert access.rights(auditor, other_model) == frozenset()


def test_no_grant_no_rights(model, other_scientist):
    assert access.rights(other_scientist, model) == frozenset()
    assert not access.allows(other_scientist, model, "view")


def test_inactive_anonymous_and_no_user(model, scientist):
    scientist.is_active = False
    scientist.save()
    assert access.rights(fresh(scientist), model) == frozenset()
    assert access.rights(AnonymousUser(), model) == frozenset()
    assert access.rights(None, model) == frozenset()


def test_a_deleted_or_unsaved_model_has_no_rights(model, scientist):
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    gone = RegisteredModel.objects.get(pk=model.pk)
    RegisteredModel.objects.filter(pk=model.pk).delete()
    assert access.rights(scientist, gone) == frozenset()
    assert access.rights(root, gone) == frozenset()
    assert access.rights(root, RegisteredModel(name="unsaved")) == frozenset()


def test_one_query_for_every_action_and_remembered(model, viewer, django_assert_num_queries):
    viewer = fresh(viewer)
    access.is_auditor(viewer)  # the role and registry-wide permissions are read once
    access.model_wide_codenames(viewer, RegisteredModel)
    same_model = RegisteredModel.objects.get(pk=model.pk)
    with django_assert_num_queries(1):
        assert access.rights(viewer, model) == {"view"}
        assert access.allows(viewer, model, "view")
        assert not access.allows(viewer, model, "change")
        assert not access.allows(viewer, same_model, "manage")
    with django_assert_num_queries(0):
        access.rights(viewer, model)


def test_remembered_rights_follow_grants_and_memberships(model):
    user = make_user("uma", access.ROLE_DATA_SCIENTISTS, access.ROLE_APPROVERS)
    assert access.rights(user, model) == frozenset()
    access.grant(model, "change", user=user)
    assert access.rights(user, model) == {"view", "change"}
    access.revoke(model, "change", user=user)
    assert access.rights(user, model) == frozenset()
    reviewers = make_team("Reviewers")
    legacy_grant(model, "approve", group=reviewers)
    assert access.rights(user, model) == frozenset()
    user.groups.add(reviewers)
    assert access.rights(user, model) == {"view", "approve"}
    user.groups.remove(reviewers)
    assert access.rights(user, model) == frozenset()
    user.groups.add(reviewers)
    get_group_obj_perms_model(RegisteredModel).objects.filter(group=reviewers).delete()
    assert access.rights(user, model) == frozenset()


def test_unknown_action_is_refused(model, scientist):
    with pytest.raises(ValueError):
        access.allows(scientist, model, "delete")


# --- The filter's SQL against the same filter built from querysets ----------------------


def _reference_restrict(qs, user, action, few_rows):
    """restrict() as the ORM would build it (its implementation before Granted)."""
    path, guarded = qs._guarded()
    codenames = access._codenames_granting(action, guarded)
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if action in access.WRITE_ACTIONS and access.is_auditor(user):
        return qs.none()
    if action == "approve" and not access.approve_counts(user):
        return qs.none()
    if access._model_wide(user, guarded, codenames):
        return qs
    user_grants = get_user_obj_perms_model(guarded).objects.filter(user_id=user.pk)
    group_grants = get_group_obj_perms_model(guarded).objects.filter(group__user=user)
    target = path or "pk"
    if few_rows:
        correlated = {"content_object_id": models.OuterRef(target)}
        user_grants = user_grants.filter(permission__codename__in=codenames, **correlated)
        group_grants = group_grants.filter(permission__codename__in=codenames, **correlated)
    else:
        permissions = Permission.objects.filter(
            content_type__app_label=guarded._meta.app_label,
            content_type__model=guarded._meta.model_name,
            codename__in=codenames,
        ).values("pk")
        user_grants = user_grants.filter(permission_id__in=permissions)
        group_grants = group_grants.filter(permission_id__in=permissions)
    return qs.filter(
        models.Q(**{f"{target}__in": user_grants.values("content_object_id")})
        | models.Q(**{f"{target}__in": group_grants.values("content_object_id")})
    )


@pytest.fixture
def granted_every_way(scientist, other_scientist, team, model, viewer, auditor):
    reviewers = make_team("Reviewers")
    member = make_user("gus", access.ROLE_APPROVERS, reviewers.name)
    changer = make_user("chad", access.ROLE_DATA_SCIENTISTS)
    models_ = [model, make_model(scientist, name="second", team=team)]
    models_.append(make_model(other_scientist, name="third"))
    for m in models_:
        make_version(m.created_by, m)
    legacy_grant(models_[1], "approve", group=reviewers)
    access.grant(models_[2], "view", group=reviewers)
    access.grant(models_[2], "change", user=changer)
    # A stale approve grant to a data scientist: it shows the model, and decides nothing.
    assign_perm(access.codename("approve", RegisteredModel), changer, models_[2])
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.clear()
    access.grant(models_[1], "view", user=auditor)
    users = [scientist, other_scientist, viewer, member, changer, fresh(auditor)]
    return users, models_


@pytest.mark.parametrize("action", access.ACTIONS)
@pytest.mark.parametrize("few_rows", [False, True])
@pytest.mark.parametrize("model_cls", [RegisteredModel, ModelVersion, Artifact])
def test_granted_selects_what_querysets_would(granted_every_way, action, few_rows, model_cls):
    users, _ = granted_every_way
    for user in users:
        qs = model_cls.objects.order_by("-pk")
        fast = qs.restrict(user, action, few_rows=few_rows)
        slow = _reference_restrict(qs, user, action, few_rows)
        assert list(fast.values_list("pk", flat=True)) == list(slow.values_list("pk", flat=True))
        assert fast.count() == slow.count()
        assert list(fast[:2]) == list(slow[:2])  # sliced: the SQLite hint
        # As a subquery of another query (aliases must not clash with the outer ones).
        outer = ModelVersion.objects.filter(registered_model__in=fast.values("pk"))
        if model_cls is RegisteredModel:
            expected = ModelVersion.objects.filter(registered_model__in=slow.values("pk"))
            assert sorted(outer.values_list("pk", flat=True)) == sorted(
                expected.values_list("pk", flat=True)
            )


@pytest.mark.parametrize("action", access.ACTIONS)
def test_allows_agrees_with_restrict(granted_every_way, registry_admin, action):
    users, models_ = granted_every_way
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    for user in [*users, registry_admin, root]:
        for m in models_:
            one_row = RegisteredModel.objects.filter(pk=m.pk)
            expected = _reference_restrict(one_row, fresh(user), action, True).exists()
            assert access.allows(fresh(user), m, action) == expected, (user, m, action)
            assert one_row.restrict(fresh(user), action, few_rows=True).exists() == expected
