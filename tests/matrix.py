"""A reusable permission matrix: one request per role, the expected status for each,
and exactly one audit event for every write that succeeds."""

from django.urls import reverse

from governance.models import AuditEvent
from tests.conftest import client_for

LOGIN = "login"


def check_matrix(
    users: dict, url: str, expected: dict, *, method="get", data=None, writes_on_success=0
):
    """`users` maps role name to a user (None is anonymous). `expected` maps the same
    names to a status code or LOGIN. Returns the responses by role."""
    responses = {}
    for role, status in expected.items():
        client = client_for(users[role])
        before = AuditEvent.objects.count()
        payload = data(role) if callable(data) else data
        response = getattr(client, method)(url, payload or {})
        written = AuditEvent.objects.count() - before
        if status == LOGIN:
            assert response.status_code == 302, (role, response.status_code)
            assert response["Location"].startswith(reverse("login")), (role, response["Location"])
        else:
            assert response.status_code == status, (role, status, response.status_code)
        if method == "post":
            expected_writes = writes_on_success if status in (200, 201, 302) else 0
            assert written == expected_writes, (role, "audit events", written)
        responses[role] = response
    return responses
