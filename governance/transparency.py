"""The audit trail as a verifiable log (RFC 6962 style), beside its hash chain.

Each event is a leaf: leaf_hash(the event's 32-byte chain hash), in id order. Signed tree
heads say "the first N events have this Merkle root", signed with the instance key
(governance.signing). They are written at least every minute while events arrive (Celery
beat on the production stack; after a commit, in process, on the embedded default) and on
demand (`manage.py sign_tree_head`). Inclusion proofs tie one event to a head; consistency
proofs tie an older head to a newer one. `verify_log()` recomputes every head from the
events, so deleting the tail, deleting everything, or rewriting history and re-hashing
the chain all show, and a forged head needs the private key.

Writing a tree head is not itself an audit event (it would need a head of its own); heads
are signed and append-only instead. This module imports nothing from `registry`.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.signals import request_finished
from django.db import connection, transaction
from django.utils import timezone

from governance import merkle, signing, timestamping, witness
from governance.models import AuditChainHead, AuditEvent, SignedTreeHead

logger = logging.getLogger(__name__)
SIGN_INTERVAL_SECONDS = 60
_BATCH = 5000


def leaf_of(event_hash: str) -> bytes:
    return merkle.leaf_hash(bytes.fromhex(event_hash))


def _event_hashes(after_id: int = 0, upto_id: int | None = None):
    """(id, hash) of events in id order, read in batches (no model instances)."""
    while True:
        rows = AuditEvent.objects.filter(id__gt=after_id).order_by("id")
        if upto_id is not None:
            rows = rows.filter(id__lte=upto_id)
        batch = list(rows.values_list("id", "hash")[:_BATCH])
        if not batch:
            return
        yield from batch
        after_id = batch[-1][0]


def latest_tree_head() -> SignedTreeHead | None:
    return SignedTreeHead.objects.order_by("-id").first()


def _committed_end() -> int | None:
    """The id of the newest committed event: appends hold the chain head's lock until they
    commit, so while we hold it every event up to the head's id is committed."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        return head.last_event_id if head else None


def tree_head_sign(*, force: bool = False) -> SignedTreeHead | None:
    """Sign a head over every committed event, extending the last head's frontier. Returns
    None when the log has not grown since the last head (unless `force`)."""
    end = _committed_end()
    previous = latest_tree_head()
    builder, after = merkle.RootBuilder(), 0
    if previous is not None and previous.last_event_id is not None:
        builder = merkle.RootBuilder([(s, bytes.fromhex(h)) for s, h in previous.frontier])
        after = previous.last_event_id
    last_id = after
    if end is not None and end > after:
        for event_id, event_hash in _event_hashes(after, end):
            builder.add(leaf_of(event_hash))
            last_id = event_id
    if previous is not None and builder.size == previous.tree_size and not force:
        return None
    signed_at = timezone.now().replace(microsecond=0)
    root = builder.root().hex()
    key_id = signing.current_key_id()
    statement = SignedTreeHead(
        tree_size=builder.size, root_hash=root, signed_at=signed_at, key_id=key_id
    ).statement()
    key_id, signature = signing.sign(statement)
    head = SignedTreeHead.objects.create(
        timestamp_token=_timestamp(statement),
        tree_size=builder.size,
        root_hash=root,
        signed_at=signed_at,
        key_id=key_id,
        signature=signature,
        last_event_id=last_id or None,
        frontier=[[s, h.hex()] for s, h in builder.frontier()],
    )
    _witness()
    return head


def _witness() -> None:
    """Copy new heads to the witness; one that fails is copied with the next head."""
    try:
        witness.witness_new_heads()
    except Exception:  # noqa: BLE001
        logger.exception("Could not copy tree heads to the witness; will try again")


def _timestamp(statement: bytes) -> str:
    """A TSA's token over the head, when one is configured; a head is still signed (and
    verify_audit says it is not time-stamped) if the TSA cannot be reached."""
    try:
        return timestamping.timestamp(statement) or ""
    except timestamping.TimestampError as exc:
        logger.warning("Tree head not time-stamped: %s", exc)
        return ""


# --- Proofs -------------------------------------------------------------------------------


def _leaves(size: int) -> list[bytes]:
    leaves = []
    for _, event_hash in _event_hashes():
        if len(leaves) == size:
            break
        leaves.append(leaf_of(event_hash))
    if len(leaves) < size:
        raise ValueError(f"the log holds {len(leaves)} events, fewer than {size}")
    return leaves


def leaf_index(event: AuditEvent) -> int:
    return AuditEvent.objects.filter(id__lt=event.pk).count()


def inclusion_proof(event: AuditEvent, head: SignedTreeHead) -> dict:
    """The audit path of `event` in the tree of `head`, as hex."""
    index = leaf_index(event)
    path = merkle.inclusion_proof(index, _leaves(head.tree_size))
    return {"leaf_index": index, "tree_size": head.tree_size, "path": [h.hex() for h in path]}


def inclusion_proofs(event_ids, head: SignedTreeHead) -> dict[int, dict]:
    """{event id: {"leaf_index", "path"}} for many events in the tree of `head`, from one
    read of the log."""
    wanted, ids, leaves = set(event_ids), {}, []
    for event_id, event_hash in _event_hashes():
        if len(leaves) == head.tree_size:
            break
        if event_id in wanted:
            ids[event_id] = len(leaves)
        leaves.append(leaf_of(event_hash))
    missing = wanted - set(ids)
    if missing:
        raise ValueError(f"events {sorted(missing)[:5]} are not in the tree of {head}")
    tree = merkle.ProofTree(leaves)
    return {
        event_id: {"leaf_index": index, "path": [h.hex() for h in tree.inclusion_proof(index)]}
        for event_id, index in ids.items()
    }


def export_proof(event_ids: list[int], head: SignedTreeHead) -> dict:
    """What ties the events of an export (`event_ids`, ascending) to `head`, from one read
    of the log: when they are consecutive leaves, a range proof (`merkle.range_proof`:
    the export's own leaves plus these hashes give the head's root); when the export
    skips events (a filter, a narrowed auditor), an inclusion proof per event."""
    leaves, indices, wanted = [], [], iter(event_ids)
    want = next(wanted, None)
    for event_id, event_hash in _event_hashes():
        if len(leaves) == head.tree_size:
            break
        if event_id == want:
            indices.append(len(leaves))
            want = next(wanted, None)
        leaves.append(leaf_of(event_hash))
    if want is not None:
        raise ValueError(f"event {want} is not in the tree of {head}")
    tree = merkle.ProofTree(leaves)
    if not indices:
        return {"range": None, "inclusion": {}}
    lo, hi = indices[0], indices[-1] + 1
    if hi - lo == len(indices):
        return {
            "range": {"first_leaf": lo, "proof": [h.hex() for h in tree.range_proof(lo, hi)]},
            "inclusion": None,
        }
    return {
        "range": None,
        "inclusion": {
            str(event_id): {
                "leaf_index": index,
                "path": [h.hex() for h in tree.inclusion_proof(index)],
            }
            for event_id, index in zip(event_ids, indices, strict=True)
        },
    }


def head_for_evidence() -> SignedTreeHead:
    """A head over everything committed, signed with the current key, for a document that
    must carry one (an evidence bundle, a report)."""
    head = tree_head_sign() or latest_tree_head()
    if head is None or head.key_id != signing.current_key_id():
        head = tree_head_sign(force=True)
    return head


def document_anchor() -> dict:
    """What a document's first page names (registry.pdf.register_anchor): the key that
    signs it and a signed tree head over everything committed when it was made."""
    head = head_for_evidence()
    return {
        "key_id": head.key_id,
        "head_id": head.pk,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "signed_at": head.as_json()["signed_at"],
    }


def consistency_proof(old: SignedTreeHead, new: SignedTreeHead) -> list[str]:
    if old.tree_size == 0 or old.tree_size == new.tree_size:
        return []
    return [h.hex() for h in merkle.consistency_proof(old.tree_size, _leaves(new.tree_size))]


# --- Verification ---------------------------------------------------------------------------


@dataclass
class LogReport:
    events: int = 0
    heads: int = 0
    timestamped: int = 0
    witnessed: int | None = None
    problems: list[str] = field(default_factory=list)


def _describe(head: SignedTreeHead) -> str:
    return (
        f"signed tree head #{head.pk} ({head.tree_size} events, {head.signed_at:%Y-%m-%d %H:%M:%S})"
    )


def verify_log() -> LogReport:
    """Every head's signature, and every head's root recomputed from the events now in
    the log. Names each problem; an empty list means the log is what its heads signed."""
    report = LogReport()
    heads = list(SignedTreeHead.objects.order_by("id"))
    heads += _witness_only_heads(heads, report)
    heads.sort(key=lambda h: h.pk)
    report.heads = len(heads)
    previous = None
    for head in heads:
        if not signing.verify(head.key_id, head.statement(), head.signature):
            report.problems.append(
                f"{_describe(head)}: its signature does not verify under key {head.key_id} "
                "(a forged or altered head, or a key missing from the retired keys)"
            )
        if head.timestamp_token:
            _check_timestamp(head, report)
        if previous is not None and (
            head.tree_size < previous.tree_size or head.signed_at < previous.signed_at
        ):
            report.problems.append(f"{_describe(head)}: smaller or older than the head before it")
        previous = head
    by_size: dict[int, list[SignedTreeHead]] = {}
    for head in heads:
        by_size.setdefault(head.tree_size, []).append(head)
    builder = merkle.RootBuilder()
    _check_heads_at(builder, by_size, report)
    for _, event_hash in _event_hashes():
        builder.add(leaf_of(event_hash))
        _check_heads_at(builder, by_size, report)
    report.events = builder.size
    for size, stranded in sorted(by_size.items()):
        if size > builder.size:
            for head in stranded:
                report.problems.append(
                    f"{_describe(head)}: the log now holds only {builder.size} events, so "
                    f"{size - builder.size} signed events were removed"
                )
    report.problems += _chain_head_problems(builder.size)
    report.problems += _deleted_head_problems()
    return report


MAX_CLOCK_SKEW_SECONDS = 300


def _check_timestamp(head: SignedTreeHead, report: LogReport) -> None:
    try:
        stamped_at = timestamping.check(head.statement(), head.timestamp_token)
    except (timestamping.TimestampError, OSError) as exc:
        report.problems.append(f"{_describe(head)}: its RFC 3161 time-stamp fails: {exc}")
        return
    report.timestamped += 1
    if abs((stamped_at - head.signed_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        report.problems.append(
            f"{_describe(head)}: the time-stamping authority dates it "
            f"{stamped_at:%Y-%m-%d %H:%M:%S}, far from the time Attest signed"
        )


def _witness_only_heads(heads: list[SignedTreeHead], report: LogReport) -> list:
    """Compare the witness's copies with the database's heads. A copy the database lacks
    is checked like any head (a log rolled back with its heads shows here)."""
    try:
        copies = witness.witnessed_heads()
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"the witness could not be read: {exc}")
        return []
    if copies is None:
        return []
    report.witnessed = len(copies)
    by_id = {h.pk: h for h in heads}
    extra = []
    for copy in copies:
        head = SignedTreeHead(
            pk=copy["id"],
            tree_size=copy["tree_size"],
            root_hash=copy["root_hash"],
            signed_at=datetime.fromisoformat(copy["signed_at"].replace("Z", "+00:00")),
            key_id=copy["key_id"],
            signature=copy["signature"],
        )
        ours = by_id.get(head.pk)
        if ours is None:
            report.problems.append(
                f"the witness holds {_describe(head)}, which the database no longer has"
            )
            extra.append(head)
        elif ours.as_json() != head.as_json():
            report.problems.append(f"{_describe(ours)}: differs from the witness's copy")
            extra.append(head)
    return extra


def _check_heads_at(builder, by_size, report) -> None:
    for head in by_size.get(builder.size, []):
        if builder.root().hex() != head.root_hash:
            report.problems.append(
                f"{_describe(head)}: the first {head.tree_size} events no longer have its "
                "signed root, so signed history was changed, removed or reordered"
            )


def _chain_head_problems(events: int) -> list[str]:
    problems = []
    if events and not AuditChainHead.objects.filter(pk=1).exists():
        problems.append("the audit chain head row is missing")
    advanced = _id_sequence_position()
    if events == 0 and advanced:
        problems.append(
            f"no audit event remains, yet event ids were issued up to {advanced}: "
            "events were deleted"
        )
    return problems


def _deleted_head_problems() -> list[str]:
    """Heads are never deleted, and are written outside any larger transaction: the newest
    head's id is the last id the database issued for heads. Deleting the newest heads (to
    rewrite the events after the heads that remain, and have them signed again) shows."""
    newest = SignedTreeHead.objects.order_by("-id").values_list("id", flat=True).first()
    issued = _id_sequence_position(SignedTreeHead)
    if newest is not None and issued > newest:
        return [
            f"signed tree heads were issued up to #{issued}, but the newest left is #{newest}: "
            "signed tree heads were deleted"
        ]
    return []


def _id_sequence_position(model=AuditEvent) -> int:
    """How far the database has issued ids of `model` (0 if never)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            if not sequence:
                return 0
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")  # noqa: S608
        else:
            return 0
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] else 0


# --- Signing as events arrive --------------------------------------------------------------

_last_attempt = 0.0


def _sign_if_due() -> None:
    """After a commit: never fail the write that already happened; log and retry later."""
    try:
        _sign_if_stale()
    except Exception:  # noqa: BLE001
        logger.exception("Could not sign an audit tree head; will try again")


def _sign_if_stale() -> None:
    global _last_attempt
    now = time.monotonic()
    if now - _last_attempt < SIGN_INTERVAL_SECONDS:
        return
    _last_attempt = now
    head = latest_tree_head()
    if head is None or (timezone.now() - head.signed_at).total_seconds() >= SIGN_INTERVAL_SECONDS:
        tree_head_sign()


def _after_request(sender, **kwargs) -> None:
    # On the embedded default (no workers, no beat), requests drive the signing: after a
    # response, at most once a minute per process. Not after every write's commit: that
    # would put a callback on every transaction.
    if getattr(settings, "ATTEST_SIGN_TREE_HEADS_IN_PROCESS", False):
        _sign_if_due()


request_finished.connect(_after_request, dispatch_uid="attest-tree-head-signing")
