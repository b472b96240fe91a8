"""The demo the first start creates: accounts for every role, models, and a governance
history worth reporting on, all through the services (so all of it is audited)."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

from config.celery import app
from governance import selectors
from governance.audit import verify_chain
from governance.demo import ACCOUNTS, MODELS, create_demo
from governance.models import Decision, TransitionRequest
from registry.models import ModelAlias, ModelVersion, RegisteredModel


@pytest.mark.parametrize("default_groups", [["Approvers", "Compliance"], []])
def test_demo_has_accounts_models_and_a_governed_history(
    transactional_db, settings, default_groups
):
    # Approvers decide through the default approver groups (production's default), or
    # through the admin's grants to avery when those are switched off.
    settings.ATTEST_DEFAULT_APPROVER_GROUPS = default_groups
    # The demo belongs to the embedded default, where background work runs in process
    # (each service commits, so the pickle scans have run before the approval).
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        passwords = create_demo()
    finally:
        app.conf.task_always_eager = eager
    assert set(passwords) == {username for username, _groups, _name in ACCOUNTS}
    assert RegisteredModel.objects.count() == len(MODELS)
    champion = ModelVersion.objects.get(stage="Production")
    assert (champion.registered_model.name, champion.version) == ("fraud-detector", 3)
    alias = ModelAlias.objects.get(alias="champion")
    assert alias.model_version_id == champion.pk
    pending = TransitionRequest.objects.get(status=TransitionRequest.Status.PENDING)
    assert pending.model_version.registered_model.name == "credit-scoring"
    assert pending.model_version.registered_model.risk_class == "high"
    approval = Decision.objects.get(request__model_version=champion)
    assert approval.approver_username == "avery" and approval.outcome == "approve"
    # Waiting for Compliance: avery sees it in the queue, and the page says who is missing.
    avery = User.objects.get(username="avery")
    assert list(selectors.approval_queue(avery)) == [pending]
    assert "approval from Compliance" in selectors.nobody_can_decide(pending, [])
    assert mail.outbox == []  # the first start prints passwords, not notification emails
    checked, bad, why = verify_chain()
    assert bad is None and not why and checked > 20
