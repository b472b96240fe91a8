"""A Document as HTML, PDF, JSON or CSV.

- HTML is a standalone page (inline CSS, no scripts, nothing fetched): the same page is
  shown in Attest and printed to PDF, so both say the same thing.
- PDF (WeasyPrint): a cover page with the completeness summary, a table of contents with
  page numbers, running footers with generated-at/by, page numbers and the content digest.
- JSON: `{"format", "format_version", "digest", "report"}` where `report` is
  `Document.as_dict()` and `digest` its SHA-256 (document.digest_of); described by
  governance/reports/schemas/report.schema.json.
- CSV: the kind's own table (`csv_columns`, `csv_rows`); only tabular kinds offer it.
"""

import csv
import io
import json
from dataclasses import dataclass

from django.template.loader import render_to_string

from governance import transparency
from governance.reports.document import Document, digest_of
from registry.pdf import html_to_pdf


@dataclass
class Rendered:
    content: bytes
    digest: str


def json_envelope(doc: Document) -> dict:
    data = doc.as_dict()
    return {
        "format": "attest-report",
        "format_version": 1,
        "digest": digest_of(data),
        "report": data,
    }


def anchor() -> dict:
    """What the cover names: the key that signs the document and the audit log's signed
    tree head it was built against (docs/audit.md)."""
    head = transparency.head_for_evidence()
    return {"key_id": head.key_id, "head": head}


def html_text(doc: Document, *, digest: str, for_pdf: bool = False) -> str:
    data = doc.as_dict()
    return render_to_string(
        "governance/reports/document.html",
        {
            "doc": data,
            "digest": digest,
            "for_pdf": for_pdf,
            "completeness": data["completeness"],
            "anchor": anchor(),
        },
    )


def csv_bytes(doc: Document) -> bytes:
    if not doc.csv_columns:
        raise ValueError(f"{doc.kind} has no tabular form")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(doc.csv_columns)
    writer.writerows(["" if v is None else v for v in row] for row in doc.csv_rows)
    return out.getvalue().encode()


def render(doc: Document, fmt: str) -> Rendered:
    envelope = json_envelope(doc)
    digest = envelope["digest"]
    if fmt == "json":
        content = json.dumps(envelope, indent=2, ensure_ascii=False, sort_keys=True).encode()
    elif fmt == "html":
        content = html_text(doc, digest=digest).encode()
    elif fmt == "pdf":
        content = html_to_pdf(html_text(doc, digest=digest, for_pdf=True))
    elif fmt == "csv":
        content = csv_bytes(doc)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    return Rendered(content=content, digest=digest)
