"""The home page (governance/views/dashboard.py): per role, each number a link, counted
through restrict(), and no more queries than the model list page (issue #19)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.services.transitions import transition_request_open
from tests.conftest import client_for
from tests.factories import make_model, make_version
from tests.governance.grants_helpers import ready


@pytest.fixture
def pending(scientist, model, version):
    ready(model, version)  # a risk class and clean scans: the gates let it open
    return transition_request_open(
        actor=scientist, version=version, target_stage="Staging", justification="ready for QA"
    )


def home(user, **headers):
    response = client_for(user).get(reverse("governance:home"), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_signing_in_lands_on_the_home_page(settings):
    assert settings.LOGIN_REDIRECT_URL == "governance:home"
    assert reverse("governance:home") == "/"


def test_scientist_sees_their_open_request_linked(scientist, pending):
    page = home(scientist)
    assert "Your open requests" in page
    assert reverse("governance:request-detail", args=[pending.pk]) in page


def test_approver_sees_the_count_awaiting_them_linked_to_the_queue(approver, pending):
    page = home(approver)
    assert "Awaiting your decision" in page
    queue = reverse("governance:queue")
    assert f'<a class="stat-number" href="{queue}">1</a>' in page


def test_auditor_is_not_offered_decisions(auditor, pending):
    page = home(auditor)
    assert "Awaiting your decision" not in page
    assert "Your open requests" not in page


def test_counts_only_what_the_user_may_see(scientist, other_scientist, model, version):
    models = reverse("registry:model-list")
    assert f'<a class="stat-number" href="{models}">1</a>' in home(scientist)
    assert f'<a class="stat-number" href="{models}">0</a>' in home(other_scientist)


def test_htmx_refresh_gets_the_panels_only(scientist, model):
    partial = home(scientist, HTTP_HX_REQUEST="true")
    assert "<html" not in partial and 'class="dashboard"' in partial
    assert "<html" in home(scientist)


def _queries(user, url):
    client = client_for(user)
    client.get(url)  # warm the session and the rights cache alike for both pages
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["scientist", "approver", "auditor", "registry_admin"])
def test_no_more_queries_than_the_model_list(request, who, scientist, team, pending):
    for i in range(5):
        make_version(scientist, make_model(scientist, name=f"extra-{i}", team=team))
    user = request.getfixturevalue(who)
    list_page = _queries(user, reverse("registry:model-list"))
    dashboard = _queries(user, reverse("governance:home"))
    assert dashboard <= list_page, (dashboard, list_page)


def test_every_page_names_a_favicon_that_exists(scientist, model):
    # Issue #19, item 10: every page requested a missing /favicon.ico.
    from django.contrib.staticfiles import finders

    page = home(scientist)
    assert 'rel="icon"' in page and "img/favicon.svg" in page
    assert finders.find("img/favicon.svg")
