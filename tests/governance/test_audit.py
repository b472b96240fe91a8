import pytest
from django.db import connection, transaction

from governance import audit, request_context
from governance.models import AuditEvent
from governance.models.audit import AppendOnlyError
from tests.factories import make_model


def test_every_service_write_records_one_event_with_context(scientist, team, audit_count):
    with request_context.audit_context(source="cli", request_id="req-12345678"):
        model = make_model(scientist, name="m1", team=team)
    assert audit_count() == 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "model.create"
    assert event.actor_id == scientist.pk and event.actor_username == "dana"
    assert event.target_type == "registry.registeredmodel" and event.target_id == str(model.pk)
    assert event.registered_model_id == model.pk
    assert event.after["name"] == "m1"
    assert event.request_id == "req-12345678" and event.source == "cli"


def test_record_refuses_to_run_outside_a_transaction(transactional_db):
    with pytest.raises(RuntimeError):
        audit.record(actor=None, action="x.y")


def test_events_cannot_be_updated_or_deleted(scientist, model):
    event = AuditEvent.objects.latest("id")
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_chain_links_each_event_to_the_previous(scientist, model, version):
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) >= 2
    assert events[0].prev_hash == audit.GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert audit.verify_chain() == (len(events), None, "")


def test_verify_names_an_altered_event(scientist, model, version):
    target = AuditEvent.objects.order_by("id").first()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An attacker with owner rights first switches the guard off (rolled back after).
            cursor.execute("ALTER TABLE governance_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE governance_auditevent SET actor_username = 'mallory' WHERE id = %s",
            [target.pk],
        )
    checked, bad, why = audit.verify_chain()
    assert bad is not None and bad.pk == target.pk
    assert "hash" in why


def test_deleting_a_user_keeps_their_history(scientist, model):
    events_before = AuditEvent.objects.filter(actor_username="dana").count()
    assert events_before >= 1
    with transaction.atomic():
        scientist.delete()
    assert AuditEvent.objects.filter(actor_username="dana").count() == events_before
    assert audit.verify_chain()[1] is None


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_and_delete(scientist, model):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://... (CI does)")
    from django.db.utils import DatabaseError

    event = AuditEvent.objects.latest("id")
    for sql in (
        "UPDATE governance_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM governance_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
