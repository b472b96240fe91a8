"""The governance page tests' permission matrix of users (the role fixtures are in
tests/conftest.py) and a pending transition request.
"""

import pytest

from tests.governance.lifecycle.helpers import open_request


@pytest.fixture
def users(
    scientist,
    team_member,
    other_scientist,
    viewer,
    auditor,
    approver,
    outsider_approver,
    registry_admin,
):
    return {
        "anonymous": None,
        "no_grant": other_scientist,
        "approver_without_grant": outsider_approver,
        "viewer": viewer,
        "auditor": auditor,
        "admin": registry_admin,
        "team_member": team_member,
        "approver": approver,
        "owner": scientist,
    }


@pytest.fixture
def pending(scientist, ready_version):
    return open_request(scientist, ready_version)
