"""Document control: each generated document says which version of itself it is, who owns
it, what changed since the previous version, and which approvals it reflects.

- **Subject.** Versions are counted per subject: one model version for technical
  documentation (its id, so a renamed model keeps its count), otherwise the kind and its
  scope (an inventory of team A and one of team B are separate documents).
- **Version.** A document's content is its cover facts and its sections, without who made
  it, when, or this block. Each section's (and item's) SHA-256 is kept on the Report row
  (`section_digests`), with the SHA-256 of them all (`document_content_digest`). When the
  latest earlier version of the same subject has the same content digest, the document
  keeps that version number ("same content as v1"), with that version's previous version
  and change log; otherwise it is the next version and its change log names the sections
  and items whose digests differ, or that were added or removed. Any format counts: a
  JSON made after a PDF of the same content is the same version.
- **Owner.** The person who asked for the document (`Report.requested_by`): they issued it
  and answer for it. The model's owning team is a cover fact of a technical
  documentation.
- **Approvals.** For technical documentation (and the one in an evidence bundle): every
  decision on the version's transition requests. For an audit report: the decisions in
  its period (and model) on models the requester can see. An inventory reflects none.

This module writes nothing; the worker stores the fields with the report
(`services.reports.report_finish`).
"""

import hashlib

from governance.models import Decision, Report
from governance.reports.document import Document, canonical_json, digest_of

K = Report.Kind
MAX_APPROVALS = 200
FINISHED = (Report.Status.READY, Report.Status.EXPIRED)


def subject_key(kind: str, *, model_version_id, scope: dict) -> str:
    if kind in (K.TECHNICAL_DOCUMENTATION, K.EVIDENCE_BUNDLE) and model_version_id:
        return f"version:{model_version_id}"
    return f"{kind}:" + hashlib.sha256(canonical_json(scope).encode()).hexdigest()[:32]


def section_digests(doc: Document) -> dict:
    """{section key: {"number", "title", "digest", "items": {item key: [title, digest]}}},
    with the cover facts as the section "cover"."""
    digests = {
        "cover": {
            "number": "0",
            "title": "Cover facts",
            "digest": digest_of({"facts": doc.facts}),
            "items": {},
        }
    }
    for section in doc.sections:
        data = section.as_dict()
        digests[section.key] = {
            "number": section.number,
            "title": section.title,
            "digest": digest_of(data),
            "items": {item["key"]: [item["title"], digest_of(item)] for item in data["items"]},
        }
    return digests


def content_digest(digests: dict) -> str:
    return digest_of({key: value["digest"] for key, value in digests.items()})


def changes_between(old: dict, new: dict) -> list[dict]:
    """The sections that differ, in the new document's order, then the removed ones."""
    changes = []
    for key, section in new.items():
        before = old.get(key)
        if before is None:
            changes.append(_change(key, section, "added", []))
        elif before.get("digest") != section["digest"]:
            old_items = before.get("items", {})
            items = [
                title
                for item_key, (title, digest) in section["items"].items()
                if old_items.get(item_key, [None, None])[1] != digest
            ]
            items += [
                f"{old_items[k][0]} (removed)" for k in old_items if k not in section["items"]
            ]
            changes.append(_change(key, section, "changed", items))
    for key, section in old.items():
        if key not in new:
            changes.append(_change(key, section, "removed", []))
    return changes


def _change(key, section, change, items) -> dict:
    return {
        "section": key,
        "number": section.get("number", ""),
        "title": section.get("title", key),
        "change": change,
        "items": items,
    }


def previous_version(subject: str, *, kind: str, exclude_pk=None) -> Report | None:
    rows = Report.objects.filter(
        kind=kind, document_subject=subject, status__in=FINISHED, document_version__isnull=False
    )
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.order_by("-document_version", "-id").first()


def approvals(kind: str, *, user, scope) -> tuple[list[dict], str]:
    """The decisions a document reflects, and a sentence saying which ones those are."""
    if kind in (K.TECHNICAL_DOCUMENTATION, K.EVIDENCE_BUNDLE) and scope.version is not None:
        rows = Decision.objects.filter(request__model_version=scope.version)
        basis = (
            f"the decisions on the transition requests of {scope.version.registered_model.name} "
            f"v{scope.version.version}"
        )
    elif kind == K.AUDIT_REPORT:
        rows = Decision.objects.restrict(user, "view")
        start, end = scope.period_bounds()
        if start is not None:
            rows = rows.filter(created_at__gte=start)
        if end is not None:
            rows = rows.filter(created_at__lt=end)
        if scope.model is not None:
            rows = rows.filter(request__model_version__registered_model=scope.model)
        basis = "the decisions recorded in the report's period on the models it covers"
    else:
        return [], "none: this kind of document reflects no approval"
    rows = rows.select_related("request__model_version__registered_model").order_by(
        "created_at", "id"
    )
    listed = [
        {
            "who": d.approver_username,
            "when": d.created_at.isoformat(),
            "outcome": d.get_outcome_display(),
            "model": d.request.model_version.registered_model.name,
            "version": d.request.model_version.version,
            "stage": d.request.target_stage,
            "reason": d.reason,
        }
        for d in rows[: MAX_APPROVALS + 1]
    ]
    if len(listed) > MAX_APPROVALS:
        listed = listed[:MAX_APPROVALS]
        basis += f" (the first {MAX_APPROVALS}; the report's sections list them all)"
    return listed, basis


def document_control(
    *, kind: str, doc: Document, user, scope, model_version_id, exclude_pk=None
) -> tuple[dict, dict]:
    """(the block printed in the document, the fields for its Report row)."""
    digests = section_digests(doc)
    content = content_digest(digests)
    subject = subject_key(kind, model_version_id=model_version_id, scope=doc.scope)
    # An evidence bundle's technical documentation counts with the version's technical
    # documentation reports: it is the same document.
    counted_as = K.TECHNICAL_DOCUMENTATION if kind == K.EVIDENCE_BUNDLE else kind
    previous = previous_version(subject, kind=counted_as, exclude_pk=exclude_pk)
    listed, basis = approvals(kind, user=user, scope=scope)
    block = {
        "owner": user.get_username(),
        "version": 1,
        "same_content_as": None,
        "same_content_report": None,
        "previous": None,
        "changes": [],
        "content_digest": content,
        "approvals": listed,
        "approvals_basis": basis,
    }
    if previous is not None:
        block["previous"] = {
            "version": previous.document_version,
            "report": previous.pk,
            "generated_at": previous.finished_at.isoformat() if previous.finished_at else None,
            "content_digest": previous.document_content_digest,
        }
        if previous.document_content_digest == content:
            # The same document again: its version, and the change log that version has.
            earlier = previous.document_control or {}
            block["version"] = previous.document_version
            block["same_content_as"] = previous.document_version
            block["same_content_report"] = previous.pk
            block["previous"] = earlier.get("previous")
            block["changes"] = earlier.get("changes", [])
        else:
            block["version"] = previous.document_version + 1
            block["changes"] = changes_between(previous.section_digests or {}, digests)
    fields = {
        "document_subject": subject,
        "document_version": block["version"],
        "document_content_digest": content,
        "section_digests": digests,
        "document_control": block,
    }
    return block, fields
