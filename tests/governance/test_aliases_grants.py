import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.shortcuts import get_groups_with_perms

from governance import access
from governance.models import AuditEvent
from governance.services import (
    alias_delete,
    alias_set,
    decision_record,
    grant_assign,
    grant_revoke,
    transition_request_open,
)
from registry.models import ModelAlias
from tests.factories import make_team, make_user


def test_plain_alias_needs_change(scientist, viewer, model, version):
    with pytest.raises(PermissionDenied):
        alias_set(actor=viewer, registered_model=model, alias="candidate", version=version)
    alias_set(actor=scientist, registered_model=model, alias="candidate", version=version)
    assert ModelAlias.objects.get(alias="candidate").model_version == version
    alias_delete(actor=scientist, registered_model=model, alias="candidate")
    assert not ModelAlias.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="alias.")] == [
        "alias.set",
        "alias.delete",
    ]


@pytest.mark.parametrize("name", ["latest", "v3", "V12", "has space", "", "x" * 129])
def test_reserved_and_malformed_alias_names(scientist, model, version, name):
    with pytest.raises(ValidationError):
        alias_set(actor=scientist, registered_model=model, alias=name, version=version)


def test_protected_alias_only_for_production_and_approvers(
    scientist, approver, ready_version, model
):
    with pytest.raises(PermissionDenied, match="approve permission"):
        alias_set(actor=scientist, registered_model=model, alias="champion", version=ready_version)
    with pytest.raises(PermissionDenied, match="approved for Production"):
        alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    request = transition_request_open(
        actor=scientist, version=ready_version, target_stage="Production", justification="go"
    )
    decision_record(actor=approver, request=request, outcome="approve", reason="ok")
    ready_version.refresh_from_db()
    alias_set(actor=approver, registered_model=model, alias="champion", version=ready_version)
    assert ModelAlias.objects.get(alias="champion").model_version == ready_version


def test_grants_by_managers_only_and_never_write_to_auditors(scientist, viewer, auditor, model):
    newcomer = make_user("nia")
    with pytest.raises(PermissionDenied):
        grant_assign(actor=viewer, registered_model=model, action="view", user=newcomer)
    grant_assign(actor=scientist, registered_model=model, action="change", user=newcomer)
    assert access.allows(newcomer, model, "change")
    admin = make_user("ada", access.ROLE_REGISTRY_ADMINS)  # approve is the admins' to grant
    with pytest.raises(ValidationError, match="auditor"):
        grant_assign(actor=admin, registered_model=model, action="approve", user=auditor)
    grant_assign(actor=scientist, registered_model=model, action="view", user=auditor)
    grant_revoke(actor=scientist, registered_model=model, action="change", user=newcomer)
    assert not access.allows(newcomer, model, "change")
    actions = list(
        AuditEvent.objects.filter(action__startswith="grant.").values_list(
            "action", "after__to", "before__to"
        )
    )
    assert actions == [
        ("grant.assign", "user:nia", None),
        ("grant.assign", "user:aude", None),
        ("grant.revoke", None, "user:nia"),
    ]


def test_last_manager_cannot_be_revoked(scientist, model):
    with pytest.raises(ValidationError, match="last manager"):
        grant_revoke(actor=scientist, registered_model=model, action="manage", user=scientist)


def test_a_group_that_is_the_last_manager_cannot_be_revoked(scientist, model):
    stewards = make_team("Model stewards")
    grant_assign(actor=scientist, registered_model=model, action="manage", group=stewards)
    grant_revoke(actor=scientist, registered_model=model, action="manage", user=scientist)
    admin = make_user("root-admin", access.ROLE_REGISTRY_ADMINS)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="last manager"):
        grant_revoke(actor=admin, registered_model=model, action="manage", group=stewards)
    assert stewards in get_groups_with_perms(model)  # still granted, nothing audited
    assert AuditEvent.objects.count() == events
    # Once someone else manages it, the group's grant can go.
    grant_assign(actor=admin, registered_model=model, action="manage", user=scientist)
    grant_revoke(actor=admin, registered_model=model, action="manage", group=stewards)
    assert stewards not in get_groups_with_perms(model)


def test_revoking_a_grant_nobody_holds_is_refused_and_not_audited(scientist, model):
    """A member of the managing group holds no manage grant of their own: revoking "theirs"
    (a stale page, a second click) is refused as nothing to revoke, not as the last
    manager, and records nothing."""
    stewards = make_team("Model stewards")
    member = make_user("stew", access.ROLE_DATA_SCIENTISTS, stewards.name)
    grant_assign(actor=scientist, registered_model=model, action="manage", group=stewards)
    grant_revoke(actor=scientist, registered_model=model, action="manage", user=scientist)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="does not hold manage"):
        grant_revoke(actor=member, registered_model=model, action="manage", user=member)
    with pytest.raises(ValidationError, match="does not hold change"):
        grant_revoke(actor=member, registered_model=model, action="change", group=stewards)
    assert AuditEvent.objects.count() == events
    assert access.allows(member, model, "manage")  # through the group, as before
