"""The access page: who sees it and the holders, granting and revoking (to users and groups),
form errors and the last manager.
"""

from django.urls import reverse

from governance import access
from governance.models import AuditEvent
from tests.conftest import client_for
from tests.factories import make_team, make_user
from tests.governance.lifecycle.helpers import access_group
from tests.matrix import LOGIN, check_matrix

# --- Access page ------------------------------------------------------------------------


def test_access_page_matrix_and_holders(users, model, team):
    url = reverse("governance:model-access", args=[model.name])
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "team_member": 403,
            "approver": 403,
            "admin": 200,
            "owner": 200,
        },
    )
    page = responses["owner"].content.decode()
    assert "Granted to people" in page and "Granted to groups" in page
    assert "dana" in page and "avery" in page and "vic" in page
    assert team.name in page and "tom" in page  # the team's grant and its members
    assert f'name="subject" value="group:{team.pk}"' in page


def test_grant_matrix(users, model):
    newcomer = make_user("nia")
    url = reverse("governance:model-access", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "team_member": 403,
        "approver": 403,
    }
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"user": "nia", "permission": "view"},
        writes_on_success=1,
    )
    check_matrix(
        users,
        url,
        {"admin": 302},
        method="post",
        data={"user": "nia", "permission": "change"},
        writes_on_success=1,
    )
    assert access.allows(newcomer, model, "change")
    assert AuditEvent.objects.latest("id").action == "grant.assign"


def test_grant_to_a_group(scientist, registry_admin, model, audit_count):
    """A manager shares change with a group; approve goes only to the approver roles, and
    only from registry admins (issue 13: it used to be any group, from any manager)."""
    group = make_team("Model risk")
    url = reverse("governance:model-access", args=[model.name])
    owner, admin = client_for(scientist), client_for(registry_admin)  # (sign-ins are audited)
    audit_count.reset()
    response = owner.post(url, {"group": group.pk, "permission": "change"})
    assert response.status_code == 302 and audit_count() == 1
    member = make_user("gus", "Model risk")
    assert access.allows(member, model, "change")
    response = owner.post(url, {"group": group.pk, "permission": "approve"})
    assert response.status_code == 400
    assert b"Only registry admins and Compliance grant approve." in response.content
    response = admin.post(url, {"group": group.pk, "permission": "approve"})
    assert response.status_code == 400
    assert b"Only the Approvers or Compliance groups can be granted approve" in response.content
    assert 'data-field="group"' in response.content.decode()
    assert audit_count() == 1 and not access.allows(member, model, "approve")
    approvers = access_group(access.ROLE_APPROVERS)
    response = admin.post(url, {"group": approvers.pk, "permission": "approve"})
    assert response.status_code == 302 and audit_count() == 2
    assert access.allows(make_user("gil", access.ROLE_APPROVERS), model, "approve")


def test_auditor_refused_a_write_grant_sees_why(
    scientist, registry_admin, auditor, model, audit_count
):
    url = reverse("governance:model-access", args=[model.name])
    client, admin = client_for(scientist), client_for(registry_admin)
    audit_count.reset()
    # Approve is the registry admins' to grant (issue 13); an auditor is refused it anyway.
    response = admin.post(url, {"user": "aude", "permission": "approve"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "aude is an auditor; auditors can only be granted view." in page
    assert 'data-field="user"' in page and 'value="aude"' in page
    assert audit_count() == 0 and not access.allows(auditor, model, "approve")
    response = client.post(
        url, {"group": access_group(access.ROLE_AUDITORS).pk, "permission": "change"}
    )
    assert response.status_code == 400 and b"The Auditors group can only be granted view" in (
        response.content
    )


def test_grant_form_errors(scientist, model):
    url = reverse("governance:model-access", args=[model.name])
    client = client_for(scientist)
    response = client.post(url, {"user": "nobody", "permission": "view"})
    assert response.status_code == 400 and b"No active user is named nobody." in response.content
    response = client.post(url, {"permission": "view"})
    assert response.status_code == 400 and b"Give either a user or a group" in response.content


def test_revoke_matrix_and_last_manager(users, model, viewer):
    url = reverse("governance:model-access-revoke", args=[model.name])
    denied = {
        "anonymous": LOGIN,
        "no_grant": 404,
        "viewer": 403,
        "auditor": 403,
        "team_member": 403,
        "approver": 403,
    }
    check_matrix(
        users,
        url,
        denied | {"owner": 302},
        method="post",
        data={"subject": f"user:{viewer.pk}", "permission": "view"},
        writes_on_success=1,
    )
    assert not access.allows(viewer, model, "view")
    owner = users["owner"]
    again = client_for(owner).post(url, {"subject": f"user:{viewer.pk}", "permission": "view"})
    assert again.status_code == 400 and b"nothing to revoke" in again.content
    response = client_for(owner).post(url, {"subject": f"user:{owner.pk}", "permission": "manage"})
    assert response.status_code == 400 and b"last manager" in response.content
    assert access.allows(owner, model, "manage")
