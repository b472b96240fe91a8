"""Concurrent decisions and concurrent audited writes on PostgreSQL (real row locks)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from guardian.shortcuts import get_groups_with_perms, get_users_with_perms

from governance import audit
from governance.models import AuditEvent
from governance.services import (
    decision_record,
    grant_assign,
    grant_revoke,
    transition_request_open,
)
from registry.models import Stage
from tests.factories import make_model, make_team

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://... (CI does)")


def run_together(*functions):
    """Start all at the same moment, each on its own connection; return results/errors."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # collected, asserted by the caller
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_approvers_at_once_produce_one_outcome(
    postgres_only, transactional_db, scientist, approver, second_approver, ready_version
):
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Production", justification="ship it"
    )
    results = run_together(
        lambda: decision_record(actor=approver, request=request, outcome="approve", reason="a"),
        lambda: decision_record(
            actor=second_approver, request=request, outcome="approve", reason="b"
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ValidationError), results
    assert "already approved" in str(errors[0])
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.status == "approved" and request.decisions.count() == 1
    assert ready_version.stage == Stage.PRODUCTION
    assert AuditEvent.objects.filter(action="transition.approve").count() == 1
    assert audit.verify_chain()[1] is None


def test_approve_and_reject_at_once_produce_one_outcome(
    postgres_only, transactional_db, scientist, approver, second_approver, ready_version
):
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Staging", justification="try it"
    )
    run_together(
        lambda: decision_record(actor=approver, request=request, outcome="approve", reason="a"),
        lambda: decision_record(
            actor=second_approver, request=request, outcome="reject", reason="b"
        ),
    )
    request.refresh_from_db()
    ready_version.refresh_from_db()
    assert request.decisions.count() == 1
    assert (request.status, ready_version.stage) in {
        ("approved", Stage.STAGING),
        ("rejected", Stage.NONE),
    }


def test_concurrent_audited_writes_never_fork_the_chain(postgres_only, transactional_db, scientist):
    team = scientist.groups.exclude(name="Data scientists").first()
    results = run_together(
        *[(lambda i=i: make_model(scientist, name=f"concurrent-{i}", team=team)) for i in range(8)]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    checked, bad, why = audit.verify_chain()
    assert bad is None and why == ""
    hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(hashes) == len(set(hashes)), "two events share a predecessor: the chain forked"


def test_two_revokes_at_once_leave_a_manager(postgres_only, transactional_db, scientist, model):
    """Two managers revoked at the same moment: the model row lock makes the second see
    the first, so one revoke is refused and the model keeps a manager."""
    stewards = make_team("Model stewards")
    grant_assign(actor=scientist, registered_model=model, action="manage", group=stewards)
    results = run_together(
        lambda: grant_revoke(
            actor=scientist, registered_model=model, action="manage", group=stewards
        ),
        lambda: grant_revoke(
            actor=scientist, registered_model=model, action="manage", user=scientist
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "last manager" in str(errors[0]), results
    managers = get_users_with_perms(model, only_with_perms_in=["manage_registeredmodel"])
    assert managers.exists() or stewards in get_groups_with_perms(model)
    assert AuditEvent.objects.filter(action="grant.revoke").count() == 1


def test_two_compliance_decisions_at_once_produce_one_outcome(
    postgres_only, transactional_db, scientist, compliance_officer, model
):
    from governance import access
    from governance.models import RiskClassChangeRequest
    from governance.services import (
        model_risk_class_set,
        risk_class_request_decide,
        risk_class_request_open,
    )
    from tests.factories import make_user

    other = make_user("cora", access.ROLE_COMPLIANCE)
    access.grant(model, "view", user=other)
    model_risk_class_set(actor=scientist, registered_model=model, risk_class="high", rationale="x")
    change = risk_class_request_open(
        actor=scientist, registered_model=model, risk_class="minimal", rationale="pilot"
    )
    results = run_together(
        lambda: risk_class_request_decide(
            actor=compliance_officer, request=change, outcome="approve", reason="a"
        ),
        lambda: risk_class_request_decide(
            actor=other, request=change, outcome="reject", reason="b"
        ),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ValidationError), results
    change.refresh_from_db()
    model.refresh_from_db()
    assert change.decisions.count() == 1
    expected = "minimal" if change.status == RiskClassChangeRequest.Status.APPROVED else "high"
    assert model.risk_class == expected
    assert (
        AuditEvent.objects.filter(action__startswith="risk_class.a").count()
        + (AuditEvent.objects.filter(action="risk_class.reject").count())
        == 1
    )
    assert audit.verify_chain()[1] is None
