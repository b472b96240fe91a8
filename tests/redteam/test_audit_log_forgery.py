"""Red team (issue 15): an insider with SQL on the database rewrites history and has the
application sign fresh heads over it.

Heads are append-only by application and (on PostgreSQL) by trigger; an insider with SQL
disables the trigger. Without a witness, the one trace a removed head leaves in the
database is the id sequence: heads are numbered from 1 and never deleted, so a head id
that was issued and is missing means signed history was removed.
"""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from governance import audit, transparency
from governance.models import AuditChainHead, AuditEvent, SignedTreeHead
from tests.factories import make_version


@pytest.fixture(autouse=True)
def own_key_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ATTEST_SIGNING_KEY_FILE = ""
    settings.ATTEST_SIGNING_RETIRED_KEYS_DIR = ""
    settings.ATTEST_WITNESS_DIR = ""


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("governance_auditevent", "governance_signedtreehead"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(statement, params)


def _rewrite_first_event_and_rehash():
    target = AuditEvent.objects.order_by("id").first()
    _sql(
        "UPDATE governance_auditevent SET actor_username = %s WHERE id = %s",
        ["mallory", target.pk],
    )
    prev_hash = audit.GENESIS_HASH
    for event in AuditEvent.objects.order_by("id"):
        event.prev_hash = prev_hash
        new_hash = audit.compute_hash(event)
        _sql(
            "UPDATE governance_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev_hash, new_hash, event.pk],
        )
        prev_hash = new_hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash)


@pytest.mark.xfail(
    strict=True,
    reason="by design without a witness: an insider with SQL can delete every head, rewrite "
    "history, reset the id sequences and let the application sign again; the witness "
    "(ATTEST_WITNESS_DIR / ATTEST_WITNESS_S3_BUCKET) is what catches this "
    "(tests/governance/test_witness.py)",
)
def test_deleting_every_head_rewriting_history_and_re_signing_is_caught(version):
    transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    transparency.tree_head_sign()
    _sql("DELETE FROM governance_signedtreehead")
    _rewrite_first_event_and_rehash()
    transparency.tree_head_sign()  # the application signs the forged history
    with pytest.raises(CommandError, match="signed tree heads were deleted"):
        call_command("verify_audit")


def test_deleting_the_newest_heads_is_caught(version):
    """...then the events after the remaining heads can be rewritten and signed again."""
    transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    newest = transparency.tree_head_sign()
    _sql("DELETE FROM governance_signedtreehead WHERE id = %s", [newest.pk])
    with pytest.raises(CommandError, match="signed tree heads were deleted"):
        call_command("verify_audit")


def test_an_honest_log_with_heads_still_verifies(version, capsys):
    transparency.tree_head_sign()
    make_version(version.created_by, version.registered_model)
    transparency.tree_head_sign()
    call_command("verify_audit")
    assert SignedTreeHead.objects.count() == 2
