"""The audit exports as they were written before issue #17: from model instances.

Kept verbatim (governance/exports.py at 648f9eb) as the reference the fast encoder
(governance/export_format.py) must match byte for byte: tests/governance/test_export_format.py
compares whole files, and benchmarks/audit_export.py times it beside the new code.
Not used by the application.
"""

import csv
import json
from collections.abc import Iterable, Iterator

from governance import audit
from governance.models import AuditEvent

EXPORT_BATCH_SIZE = 2000
COLUMNS = ("id", *audit.HASHED_FIELDS, "hash")
JSON_COLUMNS = ("before", "after", "context")


def iter_batches(queryset, *, batch_size: int | None = None) -> Iterator[list[AuditEvent]]:
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
    return {"id": event.id, **audit.event_payload(event), "hash": event.hash}


def jsonl_chunks(batches: Iterable[list[AuditEvent]]) -> Iterator[bytes]:
    for batch in batches:
        yield "".join(
            json.dumps(export_row(e), sort_keys=True, ensure_ascii=False) + "\n" for e in batch
        ).encode()


class _Line:
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


def export_bytes(queryset, fmt: str, *, batch_size: int | None = None) -> bytes:
    chunks = jsonl_chunks if fmt == "jsonl" else csv_chunks
    return b"".join(chunks(iter_batches(queryset, batch_size=batch_size)))
