"""The shape every report shares: a document of numbered sections, each holding items,
each item a list of typed blocks (markdown, text, fields, table) or nothing at all.

An item with no blocks is *missing*: it is printed as missing with what would fill it
(never silently dropped), and it is listed in the completeness summary the report opens
with. Builders (techdoc/, audit_report/, inventory.py) fill a Document; render.py
turns it into HTML, PDF, JSON or CSV. The JSON form is exactly `Document.as_dict()`
wrapped with its digest; docs/reports.md and schemas/report.schema.json describe it.

The digest is the SHA-256 of the document's canonical JSON. A PDF cannot carry a hash of
its own bytes, so the PDF prints this digest instead: it names the content, and the JSON
rendition of the same report lets anyone recompute it (docs/reports.md shows how).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

SCHEMA_NAME = "attest-report"
SCHEMA_VERSION = 1


def _cell(value):
    """Table and field values as JSON-safe scalars (dates as ISO 8601)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@dataclass
class Item:
    key: str
    title: str
    source: str = ""  # where the content comes from, e.g. "model card: Intended purpose"
    fill: str = ""  # what would fill it, printed when it is missing
    blocks: list[dict] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return not self.blocks

    def markdown(self, text: str | None) -> "Item":
        if text and str(text).strip():
            self.blocks.append({"type": "markdown", "text": str(text).strip()})
        return self

    def text(self, text: str | None) -> "Item":
        if text and str(text).strip():
            self.blocks.append({"type": "text", "text": str(text).strip()})
        return self

    def fields(self, rows, *, keep_empty: bool = False) -> "Item":
        """Label/value pairs; pairs with an empty value are left out unless keep_empty."""
        kept = [
            [str(label), _cell(value)]
            for label, value in rows
            if keep_empty or value not in (None, "", [], {})
        ]
        if kept:
            self.blocks.append({"type": "fields", "rows": kept})
        return self

    def table(self, columns, rows, *, caption: str = "", empty: str = "") -> "Item":
        """A table; with no rows it adds `empty` as text instead (if given), so an item
        that is legitimately empty ("no requests past their SLA") is not shown missing."""
        rows = [[_cell(v) for v in row] for row in rows]
        if rows:
            block = {"type": "table", "columns": [str(c) for c in columns], "rows": rows}
            if caption:
                block["caption"] = caption
            self.blocks.append(block)
        elif empty:
            self.text(empty)
        return self

    def as_dict(self) -> dict:
        data = {
            "key": self.key,
            "title": self.title,
            "status": "missing" if self.missing else "present",
            "source": self.source,
            "blocks": self.blocks,
        }
        if self.missing:
            data["fill"] = self.fill
        return data


@dataclass
class Section:
    key: str
    number: str
    title: str
    intro: str = ""
    items: list[Item] = field(default_factory=list)

    def item(self, key: str, title: str, *, source: str = "", fill: str = "") -> Item:
        item = Item(key=key, title=title, source=source, fill=fill)
        self.items.append(item)
        return item

    @property
    def missing_items(self) -> list[Item]:
        return [i for i in self.items if i.missing]

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "number": self.number,
            "title": self.title,
            "intro": self.intro,
            "items": [i.as_dict() for i in self.items],
        }


@dataclass
class Document:
    kind: str
    title: str
    subject: str  # one line: what the report is about
    scope: dict
    generated_by: str
    generated_at: datetime
    sections: list[Section] = field(default_factory=list)
    # Facts printed on the cover (e.g. "Audit chain: verified, 12,345 events").
    facts: list[list] = field(default_factory=list)
    # Tabular kinds name their CSV: a header and rows (see render.csv_bytes).
    csv_columns: list[str] = field(default_factory=list)
    csv_rows: list[list] = field(default_factory=list)
    # The document control block (governance/reports/control.py): version, owner, change
    # log and approvals. Set by the worker after the builder; not part of the content that
    # is compared between versions.
    control: dict | None = None

    def section(self, key: str, title: str, *, intro: str = "") -> Section:
        section = Section(key=key, number=str(len(self.sections) + 1), title=title, intro=intro)
        self.sections.append(section)
        return section

    def fact(self, label: str, value) -> None:
        self.facts.append([label, _cell(value)])

    @property
    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def completeness(self) -> dict:
        items = self.items
        missing = [
            {
                "section": s.key,
                "number": f"{s.number}.{index}",
                "item": i.key,
                "title": i.title,
                "fill": i.fill,
            }
            for s in self.sections
            for index, i in enumerate(s.items, start=1)
            if i.missing
        ]
        present = len(items) - len(missing)
        return {
            "items": len(items),
            "present": present,
            "missing": missing,
            "score": 100 if not items else (100 * present) // len(items),
        }

    def as_dict(self) -> dict:
        data = {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "title": self.title,
            "subject": self.subject,
            "scope": {k: _cell(v) for k, v in self.scope.items()},
            "generated_at": self.generated_at.isoformat(),
            "generated_by": self.generated_by,
            "facts": self.facts,
            "completeness": self.completeness(),
            "sections": [s.as_dict() for s in self.sections],
        }
        if self.control is not None:
            data["document_control"] = self.control
        return data


def canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(data: dict) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()
