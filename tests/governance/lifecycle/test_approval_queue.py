"""The approval queue (matrix, filters, query count, paging), the live count in the navigation
bar and the link from the e-mail.
"""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import access
from governance.models import TransitionRequest
from governance.services import model_risk_class_set
from tests.conftest import client_for
from tests.factories import make_model, make_team, make_user, make_version
from tests.governance.lifecycle.helpers import access_group, open_request, ready
from tests.matrix import LOGIN, check_matrix

# --- The approval queue -------------------------------------------------------------------


def test_queue_matrix(users, pending):
    url = reverse("governance:queue")
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 200,
            "approver_without_grant": 200,
            "viewer": 200,
            "auditor": 200,
            "admin": 200,
            "owner": 200,
            "approver": 200,
        },
    )
    link = pending.get_absolute_url().encode()
    for role, response in responses.items():
        if role != "anonymous":
            assert (link in response.content) == (role == "approver"), role
    assert b"1 request awaiting your decision" in responses["approver"].content


def test_queue_includes_approve_through_a_group(scientist, model, ready_version):
    access.grant(model, "approve", group=access_group(access.ROLE_APPROVERS))
    member = make_user("gus", access.ROLE_APPROVERS)
    request = open_request(scientist, ready_version)
    response = client_for(member).get(reverse("governance:queue"))
    assert request.get_absolute_url().encode() in response.content


def test_queue_leaves_out_what_the_user_cannot_decide_unless_asked(
    scientist, approver, pending, model, ready_version
):
    scientist.groups.add(access_group(access.ROLE_APPROVERS))  # only approvers hold approve
    access.grant(model, "approve", user=scientist)
    client = client_for(scientist)
    url = reverse("governance:queue")
    assert pending.get_absolute_url().encode() not in client.get(url).content
    assert pending.get_absolute_url().encode() in client.get(url, {"scope": "all"}).content


def _queue_catalogue(scientist, approver, model, n):
    """`n` pending requests on `model`, each on its own version."""
    model_risk_class_set(
        actor=scientist, registered_model=model, risk_class="limited", rationale="internal"
    )
    for _ in range(n):
        open_request(scientist, ready(make_version(scientist, model)), target="Staging")


def _queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_queue_query_count_does_not_grow_with_rows(scientist, approver, model, team):
    client = client_for(approver)
    url = reverse("governance:queue")
    _queue_catalogue(scientist, approver, model, 2)
    few, response = _queries(client, url)
    assert b"2 requests awaiting your decision" in response.content
    other = make_model(scientist, name="churn", team=team)
    access.grant(other, "approve", user=approver)
    _queue_catalogue(scientist, approver, other, 3)
    _queue_catalogue(scientist, approver, model, 4)
    many, response = _queries(client, url)
    assert b"9 requests awaiting your decision" in response.content
    assert many == few
    assert _queries(client, url, {"model": "churn", "stage": "Staging"})[0] == few


def test_queue_filters(scientist, approver, model, team, ready_version):
    other_team = make_team("Credit risk")
    scientist.groups.add(other_team)
    credit = make_model(scientist, name="credit-scoring", team=other_team)
    access.grant(credit, "approve", user=approver)
    model_risk_class_set(
        actor=scientist, registered_model=credit, risk_class="minimal", rationale="x"
    )
    fraud_prod = open_request(scientist, ready_version)  # fraud-detector, limited, Production
    credit_staging = open_request(scientist, ready(make_version(scientist, credit)), "Staging")
    client = client_for(approver)
    url = reverse("governance:queue")

    def shown(**params):
        content = client.get(url, params).content
        return [
            r
            for r in (fraud_prod, credit_staging)
            if r.get_absolute_url().encode() + b"#decide" in content
        ]

    assert shown() == [fraud_prod, credit_staging]  # oldest first
    assert shown(model="CREDIT") == [credit_staging]
    assert shown(team="Credit risk") == [credit_staging]
    assert shown(team=team.name) == [fraud_prod]
    assert shown(stage="Production") == [fraud_prod]
    assert shown(risk="minimal") == [credit_staging]
    assert shown(risk="high") == []
    page = client.get(url, {"risk": "high"}).content.decode()
    assert "No pending request matches these filters." in page
    teams = client.get(url).content.decode()
    assert '<option value="Credit risk"' in teams and f'<option value="{team.name}"' in teams


def test_queue_htmx_partial_and_pagination(scientist, approver, model, settings):
    settings.ATTEST_PAGE_SIZE = 2
    _queue_catalogue(scientist, approver, model, 3)
    client = client_for(approver)
    url = reverse("governance:queue")
    full = client.get(url)
    partial = client.get(url, {"model": "fraud"}, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b"<html" not in partial.content
    assert "HX-Request" in partial["Vary"]
    assert b"Page 1 of 2" in full.content
    second = client.get(url, {"page": 2})
    assert second.content.count(b"#decide") == 1


def test_overdue_badge_and_gate_summary(scientist, approver, pending, ready_version):
    client = client_for(approver)
    url = reverse("governance:queue")
    page = client.get(url).content.decode()
    assert "overdue" not in page and "pass</span>" in page
    TransitionRequest.objects.filter(pk=pending.pk).update(
        created_at=timezone.now() - timedelta(hours=73)
    )
    ready_version.artifacts.update(scan_status="flagged")
    page = client.get(url).content.decode()
    assert ">overdue</span>" in page
    assert "1 failing" in page and "Artifacts scanned clean" in page
    detail = client.get(pending.get_absolute_url()).content.decode()
    assert ">overdue</span>" in detail


# --- The live count in the navigation bar ---------------------------------------------------


def test_nav_count_for_approvers_only(users, pending):
    url = reverse("registry:model-list")
    for role in ("viewer", "auditor", "admin", "owner", "approver_without_grant", "approver"):
        page = client_for(users[role]).get(url).content.decode()
        if role == "approver":
            assert "Approvals <span" in page and "(1)</span>" in page
            assert reverse("governance:queue-count") in page and "every 30s" in page
        elif role == "approver_without_grant":
            assert "Approvals <span" in page and "(0)</span>" in page  # the role, no work
        else:
            assert "Approvals <span" not in page, role


def test_nav_count_endpoint_is_one_count_query(approver, scientist, model, pending):
    client = client_for(approver)
    url = reverse("governance:queue-count")
    client.get(url)  # the session is loaded once per request anyway
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200 and b"(1)" in response.content
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "governance_transitionrequest" in counts[0]
    assert client.get(url, {"seen": "1"}).status_code == 204  # unchanged: nothing to swap
    _queue_catalogue(scientist, approver, model, 3)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"seen": "1"})
    assert b"(4)" in response.content and b"seen=4" in response.content
    assert len([q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]) == 1


def test_nav_count_endpoint_stops_polling_when_signed_out_or_auditor(auditor):
    url = reverse("governance:queue-count")
    assert client_for(None).get(url).status_code == 286
    assert client_for(auditor).get(url).status_code == 286


def test_email_link_opens_the_request(
    scientist, approver, ready_version, mailoutbox, django_capture_on_commit_callbacks
):
    approver.email = "avery@example.com"
    approver.save()
    with django_capture_on_commit_callbacks(execute=True):
        request = open_request(scientist, ready_version)
    link = next(
        line for line in mailoutbox[0].body.splitlines() if line.startswith("Decide: ")
    ).removeprefix("Decide: ")
    path = link[link.index("/requests/") :]
    assert path == request.get_absolute_url()
    assert client_for(approver).get(path).status_code == 200
