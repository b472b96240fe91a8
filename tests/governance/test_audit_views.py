"""The audit log, the per-model history and the version timeline."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import access, audit_log
from governance.models import AuditEvent
from governance.services import decision_record, transition_request_open
from governance.timeline import version_timeline
from registry.models import Artifact
from registry.services import model_update
from tests.conftest import client_for
from tests.factories import make_model, make_user, make_version
from tests.matrix import LOGIN, check_matrix

AUDIT_URL = reverse("governance:audit-log")


@pytest.fixture
def users(scientist, other_scientist, viewer, auditor, approver, registry_admin):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "approver": approver,
        "owner": scientist,
        "auditor": auditor,
        "admin": registry_admin,
    }


@pytest.fixture
def narrowed_auditor(db, model):
    """An auditor whose registry-wide view was taken away, granted one model only."""
    Group.objects.get(name=access.ROLE_AUDITORS).permissions.clear()
    user = make_user("nora", access.ROLE_AUDITORS)
    access.grant(model, "view", user=user)
    return user


def event_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'id="event-(\d+)"', response.content.decode())]


def get(user, url, **params):
    return client_for(user).get(url, params)


# --- Permissions --------------------------------------------------------------------------


def test_audit_log_matrix(users, model):
    responses = check_matrix(
        users,
        AUDIT_URL,
        {
            "anonymous": LOGIN,
            "no_grant": 403,
            "viewer": 403,
            "approver": 403,
            "owner": 403,
            "auditor": 200,
            "admin": 200,
        },
    )
    assert b"model.create" in responses["auditor"].content


def test_model_history_matrix(users, model):
    url = reverse("governance:model-history", args=[model.name])
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 200,
            "approver": 200,
            "owner": 200,
            "auditor": 200,
            "admin": 200,
        },
    )
    assert b"model.create" in responses["viewer"].content
    check_matrix(
        users,
        reverse("governance:model-history", args=["no-such-model"]),
        {"auditor": 404, "admin": 404},
    )


def test_audit_log_is_read_only(users):
    check_matrix(users, AUDIT_URL, {"auditor": 405, "admin": 405}, method="post")


def test_navigation_link_for_auditors_and_admins_only(users):
    assert b"Audit log</a>" in get(users["auditor"], reverse("registry:model-list")).content
    assert b"Audit log</a>" in get(users["admin"], reverse("registry:model-list")).content
    assert b"Audit log</a>" not in get(users["owner"], reverse("registry:model-list")).content


def test_model_page_links_to_its_history(viewer, model):
    response = get(viewer, model.get_absolute_url())
    assert reverse("governance:model-history", args=[model.name]).encode() in response.content


def test_registry_wide_auditor_sees_every_model_and_system_events(auditor, model, other_scientist):
    other = make_model(other_scientist, name="secret-model")
    client_for(None).login(username="olga", password="pw-for-tests-1")  # an auth.login event
    ids = event_ids(get(auditor, AUDIT_URL))
    model_events = AuditEvent.objects.filter(registered_model_id__in=[model.pk, other.pk])
    assert set(model_events.values_list("id", flat=True)) <= set(ids)
    login = AuditEvent.objects.get(action="auth.login", actor_username="olga")
    assert login.registered_model_id is None and login.id in ids


def test_narrowed_auditor_sees_only_granted_models(narrowed_auditor, model, other_scientist):
    other = make_model(other_scientist, name="secret-model")
    make_version(other_scientist, other)
    client_for(None).login(username="olga", password="pw-for-tests-1")
    response = get(narrowed_auditor, AUDIT_URL)
    assert response.status_code == 200
    ids = set(event_ids(response))
    mine = set(AuditEvent.objects.filter(registered_model_id=model.pk).values_list("id", flat=True))
    assert ids == mine
    assert b"secret-model" not in response.content
    # Asking for the other model by name shows nothing either.
    assert event_ids(get(narrowed_auditor, AUDIT_URL, model="secret-model")) == []
    # The history of a model they cannot see is a 404.
    url = reverse("governance:model-history", args=["secret-model"])
    assert get(narrowed_auditor, url).status_code == 404


def test_narrowed_registry_admin_sees_system_events_but_only_visible_models(
    db, model, other_scientist
):
    Group.objects.get(name=access.ROLE_REGISTRY_ADMINS).permissions.clear()
    admin = make_user("adele", access.ROLE_REGISTRY_ADMINS)
    make_model(other_scientist, name="secret-model")
    client_for(None).login(username="olga", password="pw-for-tests-1")
    client = client_for(admin)  # signing in is itself an event with no model
    ids = set(event_ids(client.get(AUDIT_URL)))
    visible = set(
        AuditEvent.objects.filter(registered_model_id__isnull=True).values_list("id", flat=True)
    )
    assert ids == visible
    assert AuditEvent.objects.get(action="auth.login", actor_username="olga").id in ids


def test_inactive_auditor_sees_nothing(auditor, model):
    auditor.is_active = False
    assert not audit_log.events_visible(auditor).exists()


# --- Filters ------------------------------------------------------------------------------


@pytest.fixture
def busy_trail(scientist, model, version, other_scientist, viewer):
    """Events by several people on two models and two versions."""
    second = make_version(scientist, model)
    other = make_model(other_scientist, name="churn-model")
    make_version(other_scientist, other)
    model_update(
        actor=scientist, registered_model=model, description="Updated card", tags={"pii": "no"}
    )
    return {"v1": version, "v2": second, "other": other}


def test_filter_by_actor(auditor, busy_trail):
    ids = event_ids(get(auditor, AUDIT_URL, actor="olga"))
    expected = AuditEvent.objects.filter(actor_username="olga").values_list("id", flat=True)
    assert ids and sorted(ids) == sorted(expected)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL plans from statistics")
def test_actor_filter_pages_read_one_index_range(auditor, busy_trail):
    """A page of one person's events, newest first (and the next one, from a cursor),
    comes from the (actor_username, id) index, not from a walk down the whole trail."""
    events = audit_log.apply_filters(AuditEvent.objects.all(), {"actor": "olga"})
    for page in (events.order_by("-id")[:51], events.filter(id__lt=10**9).order_by("-id")[:51]):
        sql, params = page.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "audit_actor_name_id" in plan and "TEMP B-TREE" not in plan, plan


def test_filter_by_exact_action_and_by_family(auditor, busy_trail, scientist):
    ids = event_ids(get(auditor, AUDIT_URL, action="version.create"))
    assert len(ids) == 3
    assert all(
        a == "version.create"
        for a in AuditEvent.objects.filter(id__in=ids).values_list("action", flat=True)
    )
    family = event_ids(get(auditor, AUDIT_URL, action="model."))
    actions = set(AuditEvent.objects.filter(id__in=family).values_list("action", flat=True))
    assert actions == {"model.create", "model.update"}
    assert len(family) == AuditEvent.objects.filter(action__startswith="model.").count()


def test_action_select_lists_distinct_actions_and_families(auditor, busy_trail):
    html = get(auditor, AUDIT_URL).content.decode()
    assert audit_log.distinct_actions() == sorted(
        set(AuditEvent.objects.values_list("action", flat=True))
    )
    assert '<option value="version.create"' in html
    assert '<option value="transition."' in html


def test_filter_by_model_and_version(auditor, busy_trail, model):
    ids = event_ids(get(auditor, AUDIT_URL, model="FRAUD-detector"))  # names are case-blind
    expected = AuditEvent.objects.filter(registered_model_id=model.pk)
    assert sorted(ids) == sorted(expected.values_list("id", flat=True))
    ids = event_ids(get(auditor, AUDIT_URL, model=model.name, version=2))
    assert ids == [AuditEvent.objects.get(model_version_id=busy_trail["v2"].pk).id]
    # A version number alone matches that number in every model.
    ids = event_ids(get(auditor, AUDIT_URL, version=1))
    assert len(ids) == 2


def test_filter_by_dates(auditor, busy_trail):
    today = timezone.localdate()
    client = client_for(auditor)
    everything = event_ids(client.get(AUDIT_URL))
    assert len(everything) == AuditEvent.objects.count()
    assert event_ids(client.get(AUDIT_URL, {"date_from": today, "date_to": today})) == everything
    assert event_ids(client.get(AUDIT_URL, {"date_from": today + timedelta(1)})) == []
    assert event_ids(client.get(AUDIT_URL, {"date_to": today - timedelta(1)})) == []


def test_filter_by_request_id_links_every_event_of_one_request(auditor, busy_trail, model):
    reader = make_user("reqs", access.ROLE_DATA_SCIENTISTS)
    access.grant(model, "view", user=reader)
    client = client_for(reader)
    artifact = busy_trail["v1"].artifacts.get()
    client.get(
        reverse("registry:artifact-download", args=[model.name, 1, artifact.pk]),
        headers={"X-Request-ID": "req-for-the-filter-test"},
    )
    download = AuditEvent.objects.get(action="artifact.download")
    assert download.request_id == "req-for-the-filter-test"
    response = get(auditor, AUDIT_URL, request="req-for-the-filter-test")
    assert event_ids(response) == [download.id]
    page = get(auditor, AUDIT_URL, action="artifact.download").content.decode()
    assert f"{AUDIT_URL}?request=req-for-the-filter-test" in page


def test_invalid_filters_show_errors_and_keep_the_rest(auditor, busy_trail):
    response = get(auditor, AUDIT_URL, version="abc", actor="olga")
    assert response.status_code == 200
    assert b"Enter a whole number." in response.content
    expected = AuditEvent.objects.filter(actor_username="olga").values_list("id", flat=True)
    assert sorted(event_ids(response)) == sorted(expected)
    response = get(auditor, AUDIT_URL, date_from="2025-02-01", date_to="2025-01-01")
    assert b"The end date is before the start date." in response.content


def test_htmx_gets_the_table_only(auditor, busy_trail):
    client = client_for(auditor)
    partial = client.get(AUDIT_URL, {"actor": "olga"}, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b'id="event-' in partial.content
    assert "HX-Request" in partial["Vary"]
    full = client.get(AUDIT_URL, {"actor": "olga"})
    assert b"<html" in full.content and b'hx-target="#audit-table"' in full.content


# --- Paging -------------------------------------------------------------------------------


def test_keyset_pages_walk_newest_first_without_counting(auditor, busy_trail, monkeypatch):
    monkeypatch.setattr("governance.views.audit.PAGE_SIZE", 3)
    client = client_for(auditor)
    all_ids = sorted(AuditEvent.objects.values_list("id", flat=True), reverse=True)
    assert len(all_ids) > 6
    seen, params, pages = [], {}, 0
    while True:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(AUDIT_URL, params)
        assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
        ids = event_ids(response)
        seen.extend(ids)
        pages += 1
        match = re.search(r'before=(\d+)" hx-get', response.content.decode())
        if not match:
            break
        params = {"before": match.group(1)}
    assert seen == all_ids and pages == -(-len(all_ids) // 3)
    # And back: "Newer" from the last page gives the page before it.
    newer = re.search(r'after=(\d+)" hx-get', response.content.decode())
    assert newer
    back = event_ids(client.get(AUDIT_URL, {"after": newer.group(1)}))
    start = (pages - 2) * 3
    assert back == all_ids[start : start + 3]


def test_keyset_page_edges(auditor, busy_trail):
    events = audit_log.events_visible(auditor)
    ids = sorted(events.values_list("id", flat=True), reverse=True)
    first = audit_log.keyset_page(events, size=2)
    assert [e.id for e in first.events] == ids[:2]
    assert first.has_next and not first.has_previous
    second = audit_log.keyset_page(events, before=first.last_id, size=2)
    assert [e.id for e in second.events] == ids[2:4] and second.has_previous
    back = audit_log.keyset_page(events, after=second.first_id, size=2)
    assert [e.id for e in back.events] == ids[:2] and not back.has_previous and back.has_next
    junk = audit_log.keyset_page(events, before="x", after="-3", size=2)
    assert [e.id for e in junk.events] == ids[:2]


# --- Rendering ----------------------------------------------------------------------------


def test_snapshot_diff_rows():
    rows = audit_log.snapshot_diff(
        {"description": "old", "tags": {"a": "1"}, "team": "x", "gone": 1},
        {"description": "new", "tags": {"a": "1", "b": [1, 2]}, "team": "x", "added": None},
    )
    by_key = {r.key: r for r in rows}
    assert by_key["description"].status == "changed"
    assert (by_key["description"].old, by_key["description"].new) == ("old", "new")
    assert by_key["tags"].new == '{"a":"1","b":[1,2]}'  # nested values as compact JSON
    assert by_key["team"].status == "same" and not by_key["team"].changed
    assert by_key["gone"].status == "removed" and by_key["gone"].new is None
    assert by_key["added"].status == "added" and by_key["added"].new == "null"
    assert [r.key for r in rows] == ["description", "tags", "team", "gone", "added"]
    assert audit_log.snapshot_diff(None, {"k": 1})[0].status == "added"
    assert audit_log.snapshot_diff(None, None) == []
    assert audit_log.snapshot_diff(["a"], ["b"])[0].status == "changed"


def test_diff_rendering_highlights_changed_keys(auditor, busy_trail):
    response = get(auditor, AUDIT_URL, action="model.update")
    html = response.content.decode()
    event = AuditEvent.objects.get(action="model.update")
    row = html[html.index(f'id="event-{event.id}"') :]  # the only event on the page
    assert '<tr class="diff-changed">' in row
    assert "<code>Card **fraud**</code>" in row and "<code>Updated card</code>" in row
    assert "<code>{&quot;pii&quot;:&quot;no&quot;}</code>" in row
    assert '<tr class="diff-same">' in row  # the team did not change
    # Who, from where, under which request.
    assert event.request_id[:13] in row or event.request_id in row
    assert "shell" in row or event.source in row


def test_audit_page_shows_network_facts_history_hides_them_from_viewers(viewer, auditor, model):
    client = client_for(viewer)
    client.get(model.get_absolute_url())
    url = reverse("governance:model-history", args=[model.name])
    viewer_html = client.get(url).content.decode()
    assert "Client address" not in viewer_html and "audit/export" not in viewer_html
    auditor_html = get(auditor, url).content.decode()
    assert "Client address" in auditor_html
    assert f"export.csv?model={model.name}" in auditor_html


def test_model_history_shows_only_that_model_newest_first(viewer, busy_trail, model):
    url = reverse("governance:model-history", args=[model.name])
    ids = event_ids(get(viewer, url))
    expected = AuditEvent.objects.filter(registered_model_id=model.pk).order_by("-id")
    assert ids == list(expected.values_list("id", flat=True))
    v2 = event_ids(get(viewer, url, version=2))
    assert v2 == [AuditEvent.objects.get(model_version_id=busy_trail["v2"].pk).id]
    assert event_ids(get(viewer, url, action="version.")) == list(
        expected.filter(action="version.create").values_list("id", flat=True)
    )


def test_audit_page_and_history_query_counts_are_constant(auditor, scientist, model, monkeypatch):
    monkeypatch.setattr("governance.views.audit.PAGE_SIZE", 100)
    client = client_for(auditor)
    client.get(AUDIT_URL)  # warm caches (content types, permissions)
    history = reverse("governance:model-history", args=[model.name])

    def queries_for(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_version(scientist, model)
    few = queries_for(AUDIT_URL), queries_for(history)
    for n in range(4):
        other = make_model(scientist, name=f"bulk-{n}")
        make_version(scientist, other)
        make_version(scientist, model)
    model_update(actor=scientist, registered_model=model, description="x", tags={"a": "1"})
    assert AuditEvent.objects.count() > 15
    assert (queries_for(AUDIT_URL), queries_for(history)) == few


# --- Timeline -----------------------------------------------------------------------------


def _approve_to_production(scientist, approver, version, reason="Reviewed the evaluation"):
    request = transition_request_open(
        actor=scientist,
        version=version,
        target_stage="Production",
        justification="Better AUC on the holdout set",
    )
    decision_record(actor=approver, request=request, outcome="approve", reason=reason)
    return request


def test_timeline_after_request_and_approval(scientist, approver, auditor, ready_version, model):
    _approve_to_production(scientist, approver, ready_version)
    timeline = version_timeline(ready_version)
    texts = [e.text for e in timeline.entries]
    assert texts[0] == "dana uploaded v1 (1 file, 1 metric)"
    assert "dana requested a move to Production: “Better AUC on the holdout set”" in texts
    assert "avery approved the move to Production: “Reviewed the evaluation”" in texts
    assert "v1 moved from no stage to Production" in texts
    assert [e.kind for e in timeline.entries][-3:] == ["request", "approve", "stage"]
    # On the version page, through the template tag.
    html = get(auditor, ready_version.get_absolute_url()).content.decode()
    assert "Timeline" in html
    assert "avery approved the move to Production: <q>Reviewed the evaluation</q>" in html
    history = reverse("governance:model-history", args=[model.name])
    assert f"{history}?version=1" in html


def test_timeline_covers_rejection_alias_download_and_archive_by_a_later_version(
    scientist, approver, second_approver, ready_version, model, viewer
):
    from governance.services import alias_set

    first = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Staging", justification="try it"
    )
    decision_record(actor=approver, request=first, outcome="reject", reason="Needs a card")
    _approve_to_production(scientist, approver, ready_version)
    ready_version.refresh_from_db()
    alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    artifact = ready_version.artifacts.get()
    client_for(viewer).get(
        reverse("registry:artifact-download", args=[model.name, ready_version.version, artifact.pk])
    )
    v2 = make_version(scientist, model)
    Artifact.objects.filter(model_version=v2).update(scan_status="clean")
    _approve_to_production(scientist, second_approver, v2, reason="Replaces v1")
    texts = [e.text for e in version_timeline(ready_version).entries]
    assert "avery rejected the move to Staging: “Needs a card”" in texts
    assert "avery pointed @champion at v1" in texts
    assert "vic downloaded model.json" in texts
    assert texts[-1] == "v1 archived: bea approved v2 for Production"
    v2_texts = [e.text for e in version_timeline(v2).entries]
    assert "v2 moved from no stage to Production; v1 archived" in v2_texts
    assert not any("pointed @champion" in t for t in v2_texts)


def test_timeline_query_count_is_constant(scientist, approver, auditor, ready_version, model):
    with CaptureQueriesContext(connection) as before:
        version_timeline(ready_version)
    _approve_to_production(scientist, approver, ready_version)
    for _ in range(3):
        client_for(auditor).get(
            reverse(
                "registry:artifact-download",
                args=[model.name, 1, ready_version.artifacts.get().pk],
            )
        )
    with CaptureQueriesContext(connection) as after:
        timeline = version_timeline(ready_version)
    assert len(timeline.entries) >= 7
    assert len(before) == len(after) == 2


def test_timeline_is_capped(scientist, ready_version, monkeypatch, auditor, model):
    for _ in range(4):
        client_for(auditor).get(
            reverse(
                "registry:artifact-download",
                args=[model.name, 1, ready_version.artifacts.get().pk],
            )
        )
    timeline = version_timeline(ready_version, limit=3)
    assert timeline.truncated and len(timeline.entries) == 3
    assert all(e.kind == "download" for e in timeline.entries)
