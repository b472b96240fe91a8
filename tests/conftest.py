import pytest
from django.test import Client

from governance import access
from governance.models import AuditEvent
from tests.factories import make_model, make_team, make_user, make_version


@pytest.fixture
def team(db):
    return make_team("Fraud analytics")


@pytest.fixture
def scientist(db, team):
    return make_user("dana", access.ROLE_DATA_SCIENTISTS, team.name)


@pytest.fixture
def other_scientist(db):
    """A data scientist in another team, with no grant on the fixtures' model."""
    return make_user("olga", access.ROLE_DATA_SCIENTISTS, "Other team")


@pytest.fixture
def approver(db):
    return make_user("avery", access.ROLE_APPROVERS)


@pytest.fixture
def auditor(db):
    return make_user("aude", access.ROLE_AUDITORS)


@pytest.fixture
def registry_admin(db):
    return make_user("ada", access.ROLE_REGISTRY_ADMINS)


@pytest.fixture
def viewer(db):
    """Holds only a view grant on `model` (added by the `model` fixture)."""
    return make_user("vic", access.ROLE_DATA_SCIENTISTS)


@pytest.fixture
def model(scientist, team, viewer):
    m = make_model(scientist, name="fraud-detector", team=team, description="Card **fraud**")
    access.grant(m, "view", user=viewer)
    return m


@pytest.fixture
def version(scientist, model):
    return make_version(scientist, model)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def audit_count():
    """Call to get the number of audit events written since the fixture was created."""
    start = AuditEvent.objects.count()
    return lambda: AuditEvent.objects.count() - start
