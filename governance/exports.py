"""Exports of the audit trail (the filtered view of the audit log) as CSV or JSON Lines.

Both are streamed: the rows are read by id in batches of EXPORT_BATCH_SIZE and each batch
is written out before the next is read, so memory does not grow with the export. Both
carry every hashed field, `prev_hash` and `hash`, in chain (id) order, so the chain can be
checked outside Attest (docs/audit.md shows how):

- JSON Lines: one object per event holding exactly the hashed payload
  (governance.audit.HASHED_FIELDS, which include prev_hash) plus `id` and `hash`, so
  `sha256(canonical_json(row without id and hash)) == hash` can be recomputed offline.
- CSV: one column per field, in the order `id, <HASHED_FIELDS>, hash`. `before`, `after`
  and `context` hold their JSON; an empty cell in `actor_id`, `registered_model_id`,
  `model_version_id` or `client_ip` means null.

Each export is itself an audit event ("audit.export", with the format and filters),
recorded before the first byte is sent. The export covers the events before that one,
so what a file holds is fixed by the event that announces it.

Its proof (`/audit/export.proof.json?export=<that event's id>`, `proof_document`) ties the
same events to a signed tree head: a Merkle range proof when they are consecutive events
of the log (an unfiltered export), an inclusion proof per event otherwise. The export
files themselves are unchanged, so line-by-line readers keep working.
"""

import csv
import json
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from governance import audit, audit_log, signing, transparency
from governance.models import AuditEvent

EXPORT_BATCH_SIZE = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = ("id", *audit.HASHED_FIELDS, "hash")
JSON_COLUMNS = ("before", "after", "context")
NULLABLE_COLUMNS = ("actor_id", "registered_model_id", "model_version_id", "client_ip")


def iter_batches(queryset, *, batch_size: int | None = None) -> Iterator[list[AuditEvent]]:
    """The queryset's events in id order, one batch at a time: each batch is a fresh query
    from the last id seen (keyset), so no server-side cursor is held and no batch is
    kept once the next one is read."""
    batch_size = batch_size or EXPORT_BATCH_SIZE
    last_id = 0
    while True:
        batch = list(queryset.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last_id = batch[-1].id


def export_row(event: AuditEvent) -> dict:
    """Exactly what the hash covers, plus the event's id and hash."""
    return {"id": event.id, **audit.event_payload(event), "hash": event.hash}


def jsonl_chunks(batches: Iterable[list[AuditEvent]]) -> Iterator[bytes]:
    for batch in batches:
        yield "".join(
            json.dumps(export_row(e), sort_keys=True, ensure_ascii=False) + "\n" for e in batch
        ).encode()


class _Line:
    """A file-like object that hands back what csv.writer writes (Django's Echo idiom)."""

    def write(self, value):
        return value


def _csv_cell(name, value):
    if name in JSON_COLUMNS:
        return audit.canonical_json(value)
    return "" if value is None else value


def csv_chunks(batches: Iterable[list[AuditEvent]]) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS).encode()
    for batch in batches:
        lines = []
        for event in batch:
            row = export_row(event)
            lines.append(writer.writerow([_csv_cell(c, row[c]) for c in COLUMNS]))
        yield "".join(lines).encode()


def export_response(*, user, fmt: str, filters: dict) -> StreamingHttpResponse:
    """Record the export, then stream the events `user` may see that match `filters`."""
    with transaction.atomic():
        event = audit.record(
            actor=user,
            action="audit.export",
            after={"format": fmt, "filters": audit.json_safe(filters)},
        )
    events = audit_log.apply_filters(audit_log.events_visible(user), filters).filter(
        id__lt=event.pk
    )
    batches = iter_batches(events)
    chunks = jsonl_chunks(batches) if fmt == "jsonl" else csv_chunks(batches)
    response = StreamingHttpResponse(chunks, content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="attest-audit-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["X-Audit-Export-Event"] = str(event.pk)
    response["X-Audit-Export-Proof"] = proof_url(event.pk)
    return response


PROOF_FORMAT = "attest audit export proof v1"


def proof_url(export_event_id: int) -> str:
    return f"{reverse('governance:audit-export-proof')}?export={export_event_id}"


def _exported_events(user, export_event: AuditEvent):
    """The events that export held: its recorded filters, read again for the same user,
    before the export's own event."""
    filters = (export_event.after or {}).get("filters") or {}
    form = audit_log.AuditFilterForm(filters)
    form.is_valid()
    return audit_log.apply_filters(audit_log.events_visible(user), form.filters()).filter(
        id__lt=export_event.pk
    )


def proof_document(*, user, export_event_id) -> dict:
    """The proof for one of `user`'s own exports: the signed tree head and the hashes that
    tie the export's events to its root. Another user's export, or no export, is a 404
    (the events another user could see are theirs). Without an id: the user's latest."""
    exports = AuditEvent.objects.filter(action="audit.export", actor_id=getattr(user, "pk", None))
    if export_event_id in (None, ""):
        export_event = exports.order_by("-id").first()
    else:
        try:
            export_event = exports.filter(pk=int(export_event_id)).first()
        except (TypeError, ValueError):
            raise Http404("No such export.") from None
    if export_event is None:
        raise Http404("No such export.")
    ids = list(_exported_events(user, export_event).order_by("id").values_list("id", flat=True))
    head = transparency.head_for_evidence()
    proof = transparency.export_proof(ids, head)
    return {
        "format": PROOF_FORMAT,
        "export_event": export_event.pk,
        "events": len(ids),
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "tree_head": head.as_json(),
        "signed_statement": head.statement().decode(),
        "key_fingerprint_sha256": key_fingerprint(head.key_id),
        **proof,
    }


def key_fingerprint(key_id: str) -> str | None:
    for public in signing.public_keys():
        if public.key_id == key_id:
            return signing.fingerprint(public.key)
    return None


def proof_response(*, user, export_event_id) -> JsonResponse:
    document = proof_document(user=user, export_event_id=export_event_id)
    response = JsonResponse(document, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = (
        f'attachment; filename="attest-audit-export-{document["export_event"]}.proof.json"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
