"""Exports of the audit trail (the filtered view of the audit log) as CSV or JSON Lines.

Both are streamed: the rows are read by id in batches of EXPORT_BATCH_SIZE and each batch
is written out before the next is read, so memory does not grow with the export. The rows
are read and encoded without model instances (governance/export_format.py: about twice
the model-based code's rate in CPU time, byte for byte the same files). Both
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

from collections.abc import Iterator

from django.db import transaction
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from governance import audit, audit_log, export_format, signing, transparency
from governance.models import AuditEvent

EXPORT_BATCH_SIZE = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = export_format.COLUMNS
JSON_COLUMNS = export_format.JSON_COLUMNS
NULLABLE_COLUMNS = ("actor_id", "registered_model_id", "model_version_id", "client_ip")


def iter_batches(queryset, *, batch_size: int | None = None) -> Iterator[list[tuple]]:
    """The queryset's events in id order as raw rows (`COLUMNS` order, the id first), one
    keyset batch at a time (export_format.iter_row_batches)."""
    return export_format.iter_row_batches(queryset, batch_size=batch_size or EXPORT_BATCH_SIZE)


jsonl_chunks = export_format.jsonl_chunks
csv_chunks = export_format.csv_chunks


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
