import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance.models import AuditEvent
from registry.models import ModelVersion
from tests.conftest import client_for, download_status, downloaded_bytes
from tests.matrix import LOGIN, check_matrix


@pytest.fixture
def users(scientist, other_scientist, viewer, auditor, approver, registry_admin):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "viewer": viewer,
        "auditor": auditor,
        "approver_without_grant": approver,
        "owner": scientist,
        "admin": registry_admin,
    }


def test_model_list_requires_sign_in_and_shows_only_granted(users, model):
    url = reverse("registry:model-list")
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 200,
            "viewer": 200,
            "auditor": 200,
            "owner": 200,
            "admin": 200,
        },
    )
    assert b"fraud-detector" not in responses["no_grant"].content
    for role in ("viewer", "auditor", "owner", "admin"):
        assert b"fraud-detector" in responses[role].content, role


def test_model_detail_matrix(users, model):
    url = reverse("registry:model-detail", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "approver_without_grant": 404,
            "viewer": 200,
            "auditor": 200,
            "owner": 200,
            "admin": 200,
        },
    )


def test_model_edit_matrix(users, model):
    url = reverse("registry:model-edit", args=[model.name])
    check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": 403,
            "auditor": 403,
            "owner": 200,
            "admin": 403,
        },
    )
    check_matrix(
        users,
        url,
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 302},
        method="post",
        data={"description": "Changed", "tags": "a=1"},
        writes_on_success=1,
    )
    model.refresh_from_db()
    assert model.description == "Changed"
    event = AuditEvent.objects.latest("id")
    assert event.action == "model.update"
    assert event.before["description"] == "Card **fraud**" and event.after["tags"] == {"a": "1"}


def test_model_create_matrix(users, team):
    url = reverse("registry:model-create")
    check_matrix(
        users,
        url,
        {"anonymous": LOGIN, "auditor": 403, "approver_without_grant": 403, "owner": 200},
    )
    check_matrix(
        users,
        url,
        {"anonymous": LOGIN, "auditor": 403, "owner": 302},
        method="post",
        data={"name": "new-model", "team": team.pk, "description": "x", "tags": "pii"},
        writes_on_success=1,
    )


def test_version_create_matrix(users, model):
    url = reverse("registry:version-create", args=[model.name])
    check_matrix(
        users,
        url,
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 200},
    )

    def payload(role):
        return {
            "files": SimpleUploadedFile(f"{role}.json", b"{}"),
            "metrics-TOTAL_FORMS": "0",
            "metrics-INITIAL_FORMS": "0",
            "params-TOTAL_FORMS": "0",
            "params-INITIAL_FORMS": "0",
        }

    check_matrix(
        users,
        url,
        {"anonymous": LOGIN, "no_grant": 404, "viewer": 403, "auditor": 403, "owner": 302},
        method="post",
        data=payload,
        writes_on_success=1,
    )
    assert ModelVersion.objects.filter(registered_model=model).count() == 1


def test_version_detail_and_panel_matrix(users, model, version):
    for name in ("registry:version-detail", "registry:artifact-panel"):
        url = reverse(name, args=[model.name, version.version])
        check_matrix(
            users,
            url,
            {
                "anonymous": LOGIN,
                "no_grant": 404,
                "viewer": 200,
                "auditor": 200,
                "owner": 200,
                "admin": 200,
            },
        )


def test_download_matrix_records_who_downloaded(users, model, version):
    artifact = version.artifacts.get()
    url = reverse("registry:artifact-download", args=[model.name, version.version, artifact.pk])
    responses = check_matrix(
        users,
        url,
        {
            "anonymous": LOGIN,
            "no_grant": 404,
            "viewer": download_status(),
            "auditor": download_status(),
        },
    )
    assert downloaded_bytes(responses["auditor"]) == b'{"weights": [1, 2, 3]}'
    if download_status() == 200:
        assert responses["viewer"]["Content-Type"] == "application/octet-stream"
        assert "attachment" in responses["viewer"]["Content-Disposition"]
    else:
        assert "response-content-disposition=attachment" in responses["viewer"]["Location"]
    downloads = AuditEvent.objects.filter(action="artifact.download").order_by("id")
    assert [e.actor_username for e in downloads] == ["vic", "aude"]
    assert downloads[0].after["sha256"] == artifact.sha256


def test_download_of_another_models_artifact_id_is_404(users, model, version, other_scientist):
    from tests.factories import make_model, make_version

    other_model = make_model(other_scientist, name="secret-model")
    other_version = make_version(other_scientist, other_model)
    artifact = other_version.artifacts.get()
    # The artifact id of the secret model, under a URL of a model the viewer may see.
    url = reverse("registry:artifact-download", args=[model.name, 1, artifact.pk])
    check_matrix(users, url, {"viewer": 404, "owner": 404})


def test_job_status_is_scoped_to_the_version(users, model):
    from tests.factories import make_version

    version = make_version(users["owner"], model, files={"model.pkl": b"\x80\x04N."})
    job = version.registered_model and __import__("core.models", fromlist=["Job"]).Job
    job = job.objects.get(model_version_id=version.pk)
    url = reverse("registry:job-status", args=[job.pk])
    check_matrix(users, url, {"anonymous": LOGIN, "no_grant": 404, "viewer": 200, "owner": 200})


def test_admin_is_for_registry_admins_only(users):
    url = reverse("admin:index")
    responses = check_matrix(users, url, {"owner": 403, "admin": 200})
    assert b"Users" in responses["admin"].content
    # Anonymous visitors end on Attest's own sign-in page, coming back to the admin after.
    response = client_for(None).get(url, follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next=/admin/"


def test_every_response_carries_a_request_id(users, model):
    from tests.conftest import client_for

    response = client_for(users["owner"]).get(
        reverse("registry:model-detail", args=[model.name]), HTTP_X_REQUEST_ID="abc-12345678"
    )
    assert response["X-Request-ID"] == "abc-12345678"
    response = client_for(users["owner"]).get(
        reverse("registry:model-list"), HTTP_X_REQUEST_ID="bad id<script>"
    )
    assert len(response["X-Request-ID"]) == 32
