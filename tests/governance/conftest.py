import pytest

from governance import access
from registry.models import Artifact
from tests.factories import make_user


@pytest.fixture
def approver(db, model):
    user = make_user("avery", access.ROLE_APPROVERS)
    access.grant(model, "approve", user=user)
    return user


@pytest.fixture
def second_approver(db, model):
    user = make_user("bea", access.ROLE_APPROVERS)
    access.grant(model, "approve", user=user)
    return user


@pytest.fixture
def compliance_officer(db, model):
    user = make_user("cole", access.ROLE_APPROVERS, access.ROLE_COMPLIANCE)
    access.grant(model, "approve", user=user)
    return user


@pytest.fixture
def ready_version(version, model):
    """A version that passes the default gates: risk class set, artifacts hashed and clean."""
    from governance.services import model_risk_class_set

    model_risk_class_set(
        actor=model.created_by,
        registered_model=model,
        risk_class="limited",
        rationale="internal tool",
    )
    Artifact.objects.filter(model_version=version).update(scan_status="clean")
    version.refresh_from_db()
    version.registered_model.refresh_from_db()
    return version
