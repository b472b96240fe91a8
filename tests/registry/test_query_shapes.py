"""The performance shapes of the permission filter and the list filters select exactly the
rows the plain shapes would (see docs/performance.md for why they exist)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from governance import access
from registry import selectors
from registry.models import ModelVersion, RegisteredModel
from tests.factories import make_model, make_team, make_user, make_version


@pytest.fixture
def registry(scientist, other_scientist, team):
    """Models granted in every way restrict() knows: creator, team, a user grant, a group
    grant, a change-only grant, and one nobody but its owner may see."""
    shared = make_team("Shared readers")
    reader = make_user("rita", access.ROLE_DATA_SCIENTISTS, shared.name)
    changer = make_user("chad", access.ROLE_DATA_SCIENTISTS)
    owned = make_model(scientist, name="owned", team=team, description="alpha churn")
    to_reader = make_model(scientist, name="to-reader", team=team, description="beta churn")
    to_group = make_model(scientist, name="to-group", team=team, description="gamma")
    change_only = make_model(scientist, name="change-only", team=team, description="delta")
    private = make_model(other_scientist, name="private", description="alpha secret")
    for m in (owned, to_reader, private):
        make_version(scientist if m is not private else other_scientist, m)
    access.grant(to_reader, "view", user=reader)
    access.grant(to_group, "view", group=shared)
    access.grant(change_only, "change", user=changer)
    users = {
        "scientist": scientist,
        "other": other_scientist,
        "reader": reader,
        "changer": changer,
        "nobody": make_user("nina", access.ROLE_DATA_SCIENTISTS),
    }
    return users


def _names(qs):
    return sorted(m.name for m in qs)


@pytest.mark.parametrize("action", access.ACTIONS)
def test_few_rows_form_selects_the_same_rows(registry, action):
    for user in registry.values():
        _check_both_forms(user, action)


def _check_both_forms(user, action):
    broad = RegisteredModel.objects.restrict(user, action)
    narrow = RegisteredModel.objects.restrict(user, action, few_rows=True)
    assert _names(narrow) == _names(broad)
    # sliced (a page) and unsliced (a count) compile differently on SQLite
    assert _names(broad.order_by("-updated_at")[:2]) == _names(narrow.order_by("-updated_at")[:2])
    assert broad.count() == narrow.count()
    versions = ModelVersion.objects.restrict(user, action)
    versions_narrow = ModelVersion.objects.restrict(user, action, few_rows=True)
    assert sorted(versions.values_list("pk", flat=True)) == sorted(
        versions_narrow.values_list("pk", flat=True)
    )


def test_change_only_grant_still_shows_the_model(registry):
    assert _names(selectors.model_search(registry["changer"])) == ["change-only"]
    assert access.allows(
        registry["changer"], RegisteredModel.objects.get(name="change-only"), "view"
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite planner hint")
def test_scan_in_hint_only_on_pages(registry):
    qs = selectors.models_visible(registry["scientist"]).order_by("-updated_at")
    assert '+"registry_registeredmodel"."id" IN' in str(qs[:25].query)
    assert '+"registry_registeredmodel"."id"' not in str(qs.query)  # a count may start there


@pytest.mark.parametrize("short_list", [0, 500])
@pytest.mark.parametrize(
    "filters",
    [
        {"q": "churn"},
        {"q": "alpha"},
        {"tag": "domain"},
        {"framework": "SKLEARN"},
        {"stage": "None"},
        {"stage": "Production"},
        {"q": "nothing-matches"},
    ],
)
def test_short_and_long_filter_lists_agree(registry, monkeypatch, short_list, filters):
    """Literal id lists (few matches) and subqueries (many) give the same answers."""
    monkeypatch.setattr(selectors, "SHORT_LIST", short_list)
    for user in registry.values():
        expected = _names(_plain_search(user, **filters))
        assert _names(selectors.model_search(user, **filters)) == expected
        assert selectors.model_search(user, **filters).count() == len(expected)
        page = selectors.model_search(user, sort="name", **filters)[:2]
        assert [m.name for m in page] == expected[:2]


def _plain_search(user, q="", tag="", framework="", stage=""):
    """The filters written the obvious way, to check the fast shapes against."""
    qs = RegisteredModel.objects.restrict(user)
    for term in q.split():
        qs = qs.filter(search_text__icontains=term)
    if tag:
        qs = qs.filter(tags__key=tag)
    if framework:
        qs = qs.filter(versions__framework__iexact=framework)
    if stage:
        qs = qs.filter(versions__stage=stage)
    return qs.distinct()


def test_teams_visible_leaves_out_system_groups(registry, team):
    scientist = registry["scientist"]
    assert [t.name for t in selectors.teams_visible(scientist)] == [team.name]
    assert list(selectors.teams_visible(registry["nobody"])) == []
    assert Group.objects.filter(name__in=access.SYSTEM_GROUPS).exists()
