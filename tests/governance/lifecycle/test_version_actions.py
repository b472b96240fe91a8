"""The version and model actions: archive, aliases, risk class, emergency rollback and the
model page's governance panel, each with the permission matrix.
"""

from django.urls import reverse

from governance.models import AuditEvent
from governance.services import decision_record
from registry.models import ModelAlias, Stage
from tests.conftest import client_for
from tests.factories import make_version
from tests.governance.lifecycle.helpers import open_request, ready
from tests.matrix import LOGIN, check_matrix

# --- Archive, aliases, risk class, rollback --------------------------------------------


def test_archive_matrix(users, ready_version, model):
    url = reverse("governance:version-archive", args=[model.name, ready_version.version])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "approver": 403,
    }
    check_matrix(users, url, denied | {"owner": 200})
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"reason": "superseded by v2"},
        writes_on_success=1,
    )
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.ARCHIVED


def test_archive_needs_a_reason(scientist, version, model, audit_count):
    url = reverse("governance:version-archive", args=[model.name, version.version])
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and b"A reason is required." in response.content
    assert audit_count() == 0


def test_alias_set_matrix_and_protected_marks(users, version, model):
    url = reverse("governance:model-aliases", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "owner": 302,
        },
        method="post",
        data={"alias": "candidate", "version": version.version},
        writes_on_success=1,
    )
    assert ModelAlias.objects.get(alias="candidate").model_version == version
    page = client_for(users["viewer"]).get(url).content.decode()
    assert "@candidate" in page and "Set alias" not in page


def test_alias_errors(scientist, approver, version, model, audit_count):
    url = reverse("governance:model-aliases", args=[model.name])
    client, approver_client = client_for(scientist), client_for(approver)
    audit_count.reset()
    response = client.post(url, {"alias": "latest", "version": version.version})
    assert response.status_code == 400 and b"reserved" in response.content
    assert b'value="latest"' in response.content
    response = client.post(url, {"alias": "x", "version": 99})
    assert response.status_code == 400 and b"has no version 99" in response.content
    # Protected: the scientist lacks approve; the approver's version is not in Production.
    response = client.post(url, {"alias": "champion", "version": version.version})
    assert response.status_code == 403 and b"approve permission" in response.content
    response = approver_client.post(url, {"alias": "champion", "version": version.version})
    assert response.status_code == 403 and b"approved for Production" in response.content
    assert audit_count() == 0


def test_protected_alias_is_marked_on_the_version_page(scientist, approver, pending, model):
    decision_record(actor=approver, request=pending, outcome="approve", reason="ok")
    url = reverse("governance:model-aliases", args=[model.name])
    version = pending.model_version
    next_url = version.get_absolute_url()
    response = client_for(approver).post(
        url, {"alias": "champion", "version": version.version, "next": next_url}
    )
    assert response.status_code == 302 and response["Location"] == next_url
    page = client_for(scientist).get(next_url).content.decode()
    assert "@champion" in page and "protected" in page


def test_alias_remove_matrix(users, version, model):
    ModelAlias.objects.create(registered_model=model, alias="candidate", model_version=version)
    url = reverse("governance:model-alias-delete", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "admin": 403,
            "owner": 302,
        },
        method="post",
        data={"alias": "candidate"},
        writes_on_success=1,
    )
    assert not ModelAlias.objects.exists()
    response = client_for(users["owner"]).post(url, {"alias": "candidate"})
    assert response.status_code == 400 and b"No alias @candidate" in response.content


def test_risk_class_matrix(users, model):
    url = reverse("governance:model-risk-class", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "approver": 403,
    }
    check_matrix(users, url, denied | {"team_member": 200, "owner": 200})
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"risk_class": "high", "rationale": "credit decisions (Annex III)"},
        writes_on_success=1,
    )
    model.refresh_from_db()
    assert model.risk_class == "high"
    event = AuditEvent.objects.latest("id")
    assert event.action == "model.risk_class" and event.after["rationale"].startswith("credit")


def test_risk_class_needs_a_rationale(scientist, model, audit_count):
    url = reverse("governance:model-risk-class", args=[model.name])
    client = client_for(scientist)
    audit_count.reset()
    response = client.post(url, {"risk_class": "high", "rationale": " "})
    assert response.status_code == 400 and b"A rationale is required." in response.content
    assert b'<option value="high" selected>' in response.content
    assert audit_count() == 0


def test_rollback_matrix(users, approver, second_approver, scientist, ready_version, model):
    url = reverse("governance:model-rollback", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "admin": 403,
        "team_member": 403,
        "owner": 403,
    }
    check_matrix(users, url, denied | {"approver": 200})
    # Nothing in Production yet: a clear error, nothing written.
    response = client_for(approver).post(url, {"reason": "broken"})
    assert response.status_code == 400 and b"No version is in Production" in response.content
    decision_record(
        actor=approver,
        request=open_request(scientist, ready_version),
        outcome="approve",
        reason="1",
    )
    v2 = ready(make_version(scientist, model))
    decision_record(
        actor=second_approver, request=open_request(scientist, v2), outcome="approve", reason="2"
    )
    check_matrix(
        users,
        url,
        denied | {"approver": 302},
        method="post",
        data={"reason": "v2 drifts on the new merchant mix"},
        writes_on_success=1,
    )
    ready_version.refresh_from_db()
    assert ready_version.stage == Stage.PRODUCTION
    assert AuditEvent.objects.latest("id").action == "version.emergency_rollback"


def test_rollback_needs_a_reason(approver, model, audit_count):
    client = client_for(approver)
    audit_count.reset()
    response = client.post(reverse("governance:model-rollback", args=[model.name]), {"reason": ""})
    assert response.status_code == 400 and b"A reason is required." in response.content
    assert audit_count() == 0


def test_model_page_panel_by_role(users, pending, model):
    url = model.get_absolute_url()
    risk_url = reverse("governance:model-risk-class", args=[model.name])
    access_url = reverse("governance:model-access", args=[model.name])
    for role in ("viewer", "auditor", "admin", "approver", "team_member", "owner"):
        page = client_for(users[role]).get(url).content.decode()
        assert (risk_url in page) == (role in ("team_member", "owner")), role
        assert ("Emergency rollback" in page) == (role == "approver"), role
        assert (access_url in page) == (role in ("admin", "owner")), role
        assert pending.get_absolute_url() in page, role  # the pending request is listed
