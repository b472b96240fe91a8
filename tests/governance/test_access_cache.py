"""The request-scoped rights cache (issue #17, governance/access/cache.py): one rights
lookup per (user, model) per request, shared by every check and by templates, one
model-wide lookup and one role lookup per user; forgotten at the end of the request and
whenever a grant or a membership changes in it."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.utils import get_user_obj_perms_model

from governance import access
from governance.services.grants import grant_revoke
from governance.templatetags.governance import _rights as template_rights
from registry.models import RegisteredModel
from tests.conftest import client_for


def _rights_statements(queries) -> int:
    """rights()' one statement: the marker row of the model, then its grants."""
    return sum(
        1 for q in queries if q["sql"].startswith("SELECT '' FROM") and "attest_grant" in q["sql"]
    )


def _role_lookups(queries) -> int:
    return sum(1 for q in queries if 'FROM "auth_group" INNER JOIN "auth_user_groups"' in q["sql"])


def _permission_lookups(queries) -> int:
    return sum(1 for q in queries if '"auth_permission"."codename" AS "codename"' in q["sql"])


def _send(signal) -> None:
    """Send a request signal as Django's test client does: without closing the test's
    database connection (close_old_connections), with every other receiver."""
    signal.disconnect(close_old_connections)
    try:
        signal.send(sender=None)
    finally:
        signal.connect(close_old_connections)


@pytest.fixture
def in_request(db):
    """A request's scope, opened and closed by the signals Django sends around a request."""
    _send(request_started)
    yield
    _send(request_finished)


def test_version_page_looks_rights_up_once(
    scientist, model, version, django_assert_max_num_queries
):
    client = client_for(scientist)
    url = reverse("registry:version-detail", args=[model.name, version.version])
    assert client.get(url).status_code == 200  # sessions and caches warmed
    # 22: the stage gates include the model risk gate (controls/gates.py), which reads the
    # open high-severity findings once per request.
    with django_assert_max_num_queries(22) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    # The view's check, the lifecycle panel's rights, the alias and archive forms: one
    # statement for all of them, and the user's roles and global permissions read once.
    assert _rights_statements(ctx.captured_queries) == 1
    assert _role_lookups(ctx.captured_queries) == 1
    assert _permission_lookups(ctx.captured_queries) <= 2  # user's and groups', by Django
    assert response.context["version"].registered_model == model


def test_mlflow_get_model_version_reads_roles_and_grants_once(
    scientist, model, version, django_assert_max_num_queries
):
    client = client_for(scientist)
    params = {"name": model.name, "version": version.version}
    url = "/api/2.0/mlflow/model-versions/get"
    assert client.get(url, params).status_code == 200
    with django_assert_max_num_queries(9) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    assert response.json()["model_version"]["version"] == str(version.version)
    assert _role_lookups(ctx.captured_queries) == 1
    assert _permission_lookups(ctx.captured_queries) <= 2


def test_every_check_in_a_request_shares_one_lookup_per_user_and_model(
    in_request, scientist, model, django_assert_num_queries
):
    # Several objects for the same user (a view's request.user, a service's reloaded actor)
    # and for the same model: the answers are keyed by their ids.
    users = [User.objects.get(pk=scientist.pk) for _ in range(3)]
    copies = [RegisteredModel.objects.get(pk=model.pk) for _ in range(3)]
    with CaptureQueriesContext(connection) as ctx:
        for user, copy in zip(users, copies, strict=True):
            assert access.allows(user, copy, "change")
            assert access.allows(user, copy, "manage")
            assert not access.allows(user, copy, "approve")
            assert template_rights(user, copy) == {
                "change": True,
                "approve": False,
                "manage": True,
            }
            assert RegisteredModel.objects.restrict(user, "change").filter(pk=model.pk).exists()
    assert _rights_statements(ctx.captured_queries) == 1
    assert _role_lookups(ctx.captured_queries) == 1
    assert _permission_lookups(ctx.captured_queries) == 2  # the first user object's only
    # The three restrict() queries are the only others: nothing else was looked up.
    assert len(ctx.captured_queries) == 1 + 1 + 2 + 3


def test_a_grant_revoked_mid_request_is_honoured(in_request, scientist, viewer, model):
    viewer_in_view = User.objects.get(pk=viewer.pk)
    assert access.allows(viewer_in_view, model, "view")
    assert RegisteredModel.objects.restrict(viewer_in_view).filter(pk=model.pk).exists()
    grant_revoke(actor=scientist, registered_model=model, action="view", user=viewer)
    # The same user object, later in the same request: the revocation counts.
    assert not access.allows(viewer_in_view, model, "view")
    assert access.rights(viewer_in_view, model) == frozenset()
    assert not RegisteredModel.objects.restrict(viewer_in_view).filter(pk=model.pk).exists()


def test_a_membership_or_global_permission_changed_mid_request_is_honoured(
    in_request, team_member, model
):
    member = User.objects.get(pk=team_member.pk)
    assert access.allows(member, model, "change")  # through the team's grant
    team = model.team
    team_member.groups.remove(team)
    assert not access.allows(member, model, "view")
    auditors = Group.objects.get(name=access.ROLE_AUDITORS)
    assert not access.is_auditor(member)
    team_member.groups.add(auditors)
    assert access.is_auditor(member)
    assert access.allows(member, model, "view")  # the Auditors' registry-wide view
    with transaction.atomic():
        auditors.permissions.clear()
    assert not access.allows(member, model, "view")


def test_the_scope_ends_with_the_request(scientist, viewer, model):
    """A grant row removed behind the application's back (another process, raw SQL: no
    signal here) is not seen for the rest of the request, and is at the next request."""
    grants = get_user_obj_perms_model(RegisteredModel)
    _send(request_started)
    try:
        assert access.allows(User.objects.get(pk=viewer.pk), model, "view")
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {grants._meta.db_table} WHERE user_id = %s",  # noqa: S608
                [viewer.pk],
            )
        assert access.allows(User.objects.get(pk=viewer.pk), model, "view")  # remembered
    finally:
        _send(request_finished)
    _send(request_started)
    try:
        assert not access.allows(User.objects.get(pk=viewer.pk), model, "view")
    finally:
        _send(request_finished)


def test_nothing_is_shared_between_users(in_request, scientist, other_scientist, model):
    assert access.allows(scientist, model, "manage")
    assert not access.allows(other_scientist, model, "view")
    assert not access.allows(User.objects.get(pk=other_scientist.pk), model, "view")
