import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from governance.models import AuditEvent


def _tamper(sql, params):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)


def test_intact_chain_reports_the_count(version, capsys):
    call_command("verify_audit")
    expected = AuditEvent.objects.count()
    assert f"{expected} events verified" in capsys.readouterr().out


def test_deleted_row_is_named(version):
    events = list(AuditEvent.objects.order_by("id"))
    _tamper("DELETE FROM governance_auditevent WHERE id = %s", [events[0].pk])
    with pytest.raises(CommandError, match=f"event #{events[1].pk}"):
        call_command("verify_audit")


def test_inserted_row_is_named(version):
    last = AuditEvent.objects.order_by("id").last()
    _tamper(
        "INSERT INTO governance_auditevent (occurred_at, actor_username, action, target_type,"
        " target_id, target_repr, before, after, context, request_id, source, prev_hash, hash)"
        " VALUES (%s, 'mallory', 'model.create', '', '', '', 'null', 'null', '{}', 'x', 'web',"
        " %s, %s)",
        [last.occurred_at, last.hash, "f" * 64],
    )
    forged = AuditEvent.objects.order_by("id").last()
    with pytest.raises(CommandError, match=f"event #{forged.pk}"):
        call_command("verify_audit")


def test_removed_tail_is_detected(version):
    last = AuditEvent.objects.order_by("id").last()
    _tamper("DELETE FROM governance_auditevent WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match="tail removed"):
        call_command("verify_audit")
