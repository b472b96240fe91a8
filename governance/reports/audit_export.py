"""The audit trail export report: the events themselves, as JSON Lines or CSV.

The rows are exactly those of the audit log's own export (governance/exports.py: every
hashed field, `prev_hash` and `hash`, in chain order), narrowed to what the requester may
read (`audit_log.events_visible`), to the scope's period and, if it names one, to one
model. The file is streamed batch by batch into `out`, so memory does not grow with the
number of events (benchmarks/audit_export.py measures it).

What the file holds is fixed when generation starts: events recorded while it is being
written (including this report's own `report.ready`) are left out, as the audit log's
export leaves out the events after its `audit.export`.

As a ZIP, it holds the same JSON Lines (`audit-events.jsonl`), the proof that those events
are in a signed tree head (`proof.json`, as the audit log's export.proof.json: a Merkle
range proof for consecutive events, inclusion proofs otherwise) and the instance's
published keys (`signing-keys.json`), so the snippet in docs/audit.md checks it offline.
"""

import json

from django.db.models import Count, Max

from governance import audit_log, exports, signing, transparency
from governance.models import AuditEvent

FORMATS = ("jsonl", "csv", "zip")


def events_for(user, scope):
    """The events of the export, before the cut-off (an unordered queryset)."""
    events = audit_log.events_visible(user)
    start, end = scope.period_bounds()
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    if scope.model is not None:
        events = events.filter(registered_model_id=scope.model.pk)
    return events


def write(*, user, scope, fmt, progress, out, now) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"an audit export is JSON Lines or CSV, not {fmt!r}")
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    events = events_for(user, scope).filter(id__lte=newest)
    # One COUNT on the same filters (index only) gives a true percentage. The batches walk
    # the primary key from id 0; with a period, they also stop at its last event (read
    # with the count, from the occurred_at index) instead of reading every later event to
    # learn there are no more. (Only one upper bound: SQLite uses the first it is given.)
    if scope.period_start or scope.period_end:
        found = events.aggregate(total=Count("id"), last=Max("id"))
        total = found["total"]
        events = events_for(user, scope).filter(id__lte=found["last"] or 0)
    else:
        total = events.count()
    progress(0, f"Exporting {total:,} audit events")
    done = 0

    def counted(batches):
        nonlocal done
        for batch in batches:
            yield batch
            done += len(batch)
            percent = 100 * done // total if total else 100
            progress(percent, f"{done:,} of {total:,} events written")

    batches = counted(exports.iter_batches(events))
    if fmt == "zip":
        _write_zip(batches, out=out, now=now)
    else:
        chunks = exports.jsonl_chunks(batches) if fmt == "jsonl" else exports.csv_chunks(batches)
        for chunk in chunks:
            out.write(chunk)
    progress(100, f"{done:,} audit events exported")
    return ""


def _write_zip(batches, *, out, now) -> None:
    from governance.reports.bundle import _Zip

    ids: list[int] = []

    def noted(batches):
        for batch in batches:
            ids.extend(row[0] for row in batch)
            yield batch

    archive = _Zip(out, now)
    with archive.member("audit-events.jsonl") as member:
        for chunk in exports.jsonl_chunks(noted(batches)):
            member.write(chunk)
    head = transparency.head_for_evidence()
    proof = {
        "format": exports.PROOF_FORMAT,
        "events": len(ids),
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "tree_head": head.as_json(),
        "signed_statement": head.statement().decode(),
        "key_fingerprint_sha256": exports.key_fingerprint(head.key_id),
        **transparency.export_proof(ids, head),
    }
    archive.add("proof.json", json.dumps(proof, indent=1).encode())
    keys = signing.published_keys(signing.public_keys())
    archive.add("signing-keys.json", json.dumps(keys, indent=1).encode())
    archive.close()
