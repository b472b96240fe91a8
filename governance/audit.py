"""The audit recorder: the one way any write records what happened.

Call `record()` inside the same transaction as the write it describes. It appends to a
hash chain: each event's hash covers its canonical JSON and the previous event's hash,
and the chain head row is locked for the append so concurrent writers cannot fork it.
This module imports nothing from `registry`.
"""

import hashlib
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from governance import request_context
from governance.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "registered_model_id",
    "model_version_id",
    "before",
    "after",
    "context",
    "request_id",
    "client_ip",
    "source",
    "prev_hash",
)


def json_safe(value):
    """Turn a snapshot into plain JSON that survives a database round trip unchanged."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return str(value)


def canonical_json(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_payload(event: AuditEvent) -> dict:
    payload = {name: getattr(event, name) for name in HASHED_FIELDS}
    payload["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    return payload


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_json(event_payload(event)).encode()).hexdigest()


def _target_fields(target) -> dict:
    if target is None:
        return {"target_type": "", "target_id": "", "target_repr": ""}
    meta = target._meta
    return {
        "target_type": f"{meta.app_label}.{meta.model_name}",
        "target_id": str(target.pk),
        "target_repr": str(target)[:255],
    }


def record(
    *,
    actor,
    action: str,
    target=None,
    before=None,
    after=None,
    registered_model_id=None,
    model_version_id=None,
    context: dict | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the write it describes."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the write's transaction")
    ctx = request_context.current()
    user = actor if getattr(actor, "is_authenticated", False) else None
    event_context = dict(ctx.extra)
    event_context.update(context or {})
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=user,
        actor_username=user.get_username() if user else (str(actor) if actor else "system"),
        action=action,
        registered_model_id=registered_model_id,
        model_version_id=model_version_id,
        before=json_safe(before),
        after=json_safe(after),
        context=json_safe(event_context),
        request_id=ctx.request_id,
        client_ip=ctx.client_ip,
        source=ctx.source,
        **_target_fields(target),
    )
    head = _locked_head()
    event.prev_hash = head.last_hash
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=head.pk).update(last_event_id=event.pk, last_hash=event.hash)
    return event


def lock_chain() -> None:
    """Take the chain's lock for the rest of the transaction (to check, then record)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.lock_chain() must be called inside a transaction")
    _locked_head()


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def verify_chain(*, batch_size: int = 5000):
    """Walk the chain in id order. Returns (events_checked, first_bad_event_or_None, why)."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != expected_prev:
                return checked, event, "its prev_hash does not match the event before it"
            if compute_hash(event) != event.hash:
                return checked, event, "its content does not match its hash"
            expected_prev = event.hash
            checked += 1
            last_id = event.id
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != expected_prev:
        return checked, None, "the chain head names an event that is missing (tail removed)"
    return checked, None, ""
