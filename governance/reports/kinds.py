"""The kinds of report: what each needs in its scope, who may ask for it, its formats,
how long it is kept, and the module that builds it.

Builders are named by dotted path and imported when used, so each stays a leaf module:

- document kinds: `build(*, user, scope, progress, now) -> Document` (document.py);
  render.py turns the Document into each of the kind's formats.
- file kinds (the evidence bundle, the audit export) write their own file:
  `write(*, user, scope, fmt, progress, out, now) -> str` returning the content digest
  (or "" where the file is its own content), streaming into the binary file `out`.

`progress(percent, message)` records progress on the report's job for the page to poll.
"""

from dataclasses import dataclass
from importlib import import_module

from governance.models import Report

K, F = Report.Kind, Report.Format


@dataclass(frozen=True)
class KindSpec:
    kind: str
    formats: tuple[str, ...]
    retention: str  # "documentation" or "logs" (settings.ATTEST_REPORT_RETENTION_DAYS_*)
    needs_version: bool = False
    # Audit reports and exports are for those who may read the audit log (auditors,
    # registry admins); the others for anyone who can see what they cover.
    audit_readers_only: bool = False
    builder: str = ""  # "module:function"
    writes_file: bool = False
    description: str = ""
    # The scope fields this kind reads; the form drops the others, so a report's scope
    # (and title) says only what it covers.
    scope_fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return K(self.kind).label

    def load(self):
        module, _, name = self.builder.partition(":")
        return getattr(import_module(module), name)


KINDS: dict[str, KindSpec] = {
    K.TECHNICAL_DOCUMENTATION: KindSpec(
        K.TECHNICAL_DOCUMENTATION,
        (F.PDF, F.HTML, F.JSON),
        "documentation",
        needs_version=True,
        builder="governance.reports.techdoc:build",
        scope_fields=("model", "version"),
        description="One version's technical documentation, in the order of EU AI Act "
        "Annex IV, with every missing item marked.",
    ),
    K.EVIDENCE_BUNDLE: KindSpec(
        K.EVIDENCE_BUNDLE,
        (F.ZIP,),
        "documentation",
        needs_version=True,
        builder="governance.reports.bundle:write",
        writes_file=True,
        scope_fields=("model", "version"),
        description="A ZIP for a reviewer: the technical documentation (PDF and JSON), the "
        "model card, the version's audit events, approvals, artifact hashes and a manifest.",
    ),
    K.AUDIT_REPORT: KindSpec(
        K.AUDIT_REPORT,
        (F.PDF, F.HTML, F.JSON, F.CSV),
        "logs",
        audit_readers_only=True,
        builder="governance.reports.audit_report:build",
        scope_fields=("model", "period_start", "period_end", "team", "risk_class"),
        description="What happened in a period: transitions and decisions, emergency "
        "actions, Production models and their evidence, late requests, grant changes, "
        "downloads, and the audit chain's verification.",
    ),
    K.INVENTORY: KindSpec(
        K.INVENTORY,
        (F.PDF, F.HTML, F.JSON, F.CSV),
        "logs",
        builder="governance.reports.inventory:build",
        scope_fields=("team", "risk_class"),
        description="Every model you can see: risk class, versions by stage, owner, card "
        "completeness and last approval.",
    ),
    K.AUDIT_EXPORT: KindSpec(
        K.AUDIT_EXPORT,
        (F.JSONL, F.CSV, F.ZIP),
        "logs",
        audit_readers_only=True,
        builder="governance.reports.audit_export:write",
        writes_file=True,
        scope_fields=("model", "period_start", "period_end"),
        description="The audit events themselves, with their chain hashes, for offline "
        "verification (see docs/audit.md). Streamed: any size runs in constant memory. As "
        "a ZIP, with the signed tree head and Merkle proofs that the events are in it.",
    ),
}

CONTENT_TYPES = {
    F.HTML: "text/html; charset=utf-8",
    F.PDF: "application/pdf",
    F.JSON: "application/json",
    F.CSV: "text/csv; charset=utf-8",
    F.JSONL: "application/x-ndjson",
    F.ZIP: "application/zip",
}


def spec(kind: str) -> KindSpec:
    return KINDS[kind]
