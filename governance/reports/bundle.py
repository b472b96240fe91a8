"""The evidence bundle: one ZIP a reviewer can check offline (governance/reports/verify.py).

    technical-documentation.pdf    the technical documentation (techdoc/), printed
    technical-documentation.json   the same document with its content digest
    model-card/README.md           the model card in Hugging Face format
    audit-events.jsonl             the version's audit events (exports.jsonl_chunks, id order)
    audit-proofs.jsonl             each event's inclusion proof in the signed tree head
    approvals.json                 transition requests, their decisions and gates
    artifacts.json                 every artifact: path, size, SHA-256, scan status
    access-reviews.json            the access reviews' decisions on the model's grants
                                   (governance/reports/access_reviews.py)
    declaration-of-conformity.pdf  the uploaded declaration, when there is one
    signing-key.pem                the instance's public key (trust it by its fingerprint)
    manifest.json                  who made the bundle, when, every file above hashed, and
                                   the signed tree head of the audit log the events are in
    manifest.sig                   the Ed25519 signature of manifest.json, detached
    SHA256SUMS                     `sha256sum -c` input for every file, manifest included

A forger who can recompute every hash still cannot re-sign the manifest or the tree head
without the instance's private key, and verify.py checks both against a key the reviewer
trusts (given on its command line, or pinned by fingerprint).

Everything is read as the requester: the version was resolved under their view
permission, requests through `restrict()`, the declaration through the compliance
selector. Files are written straight into the ZIP (no member is held twice), the audit
events and the declaration in chunks. Each member carries the generation time.
"""

import hashlib
import json
import zipfile
from contextlib import contextmanager

from django.core.files.storage import default_storage
from django.db.models import Prefetch, Q
from django.utils import timezone

from governance import audit_log, exports, selectors, signing, transparency
from governance.models import ComplianceDocument, Decision, Report, TransitionRequest
from governance.reports import control, techdoc
from governance.reports.audit_report import gates_required
from governance.reports.render import render
from registry.cards import card_of, hf_readme

FORMAT = "attest-evidence-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PROOFS = "audit-proofs.jsonl"
PUBLIC_KEY = "signing-key.pem"
SUMS = "SHA256SUMS"
DECLARATION = ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY
# Model events that moved this version out of Production while acting on another version.
ARCHIVING_ACTIONS = ("transition.approve", "version.emergency_rollback")
CHUNK = 1024 * 1024
# Files that apps above governance add to the bundle (aisystems adds ai-systems.json in its
# ready()): each is called as `add(user=, version=)` and returns [(path, bytes)]. They are
# listed in the signed manifest and SHA256SUMS like every other file.
EXTRA_MEMBERS: list = []


def _iso(value):
    return value.isoformat() if value else None


def _username(user):
    return user.get_username() if user is not None else None


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


class _Member:
    """A ZIP member being written: counts and hashes what goes through it."""

    def __init__(self, raw):
        self.raw, self.size, self.sha = raw, 0, hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.size += len(data)
        self.sha.update(data)


class _Zip:
    def __init__(self, out, now):
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self.date_time = timezone.localtime(now).timetuple()[:6]
        self.files: list[dict] = []  # {path, size, sha256}, in the order written

    @contextmanager
    def member(self, path: str):
        info = zipfile.ZipInfo(path, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with self.zip.open(info, "w") as raw:
            member = _Member(raw)
            yield member
        self.files.append({"path": path, "size": member.size, "sha256": member.sha.hexdigest()})

    def add(self, path: str, data: bytes) -> None:
        with self.member(path) as member:
            member.write(data)

    def close(self) -> None:
        self.zip.close()


# --- The parts ----------------------------------------------------------------------------


def version_events(version, *, last_id: int):
    """The version's own events, plus the model's approvals and emergency rollbacks that
    archived it while acting on another version, up to `last_id`."""
    model_events = audit_log.model_events(version.registered_model).filter(id__lte=last_id)
    candidates = (
        model_events.filter(action__in=ARCHIVING_ACTIONS)
        .exclude(model_version_id=version.pk)
        .only("id", "action", "after")
    )
    archiving = []
    for event in candidates.iterator():
        after = event.after if isinstance(event.after, dict) else {}
        if event.action == "transition.approve":
            after = after.get("stage_change") or {}
        if version.version in (after.get("archived") or []):
            archiving.append(event.pk)
    return model_events.filter(Q(model_version_id=version.pk) | Q(pk__in=archiving))


def approvals(user, version) -> dict:
    decisions = Prefetch("decisions", queryset=Decision.objects.order_by("created_at", "pk"))
    requests = (
        TransitionRequest.objects.restrict(user, "view", few_rows=True)
        .filter(model_version_id=version.pk)
        .select_related("requested_by")
        .prefetch_related(decisions)
        .order_by("created_at", "pk")
    )
    return {
        "model": version.registered_model.name,
        "version": version.version,
        "requests": [
            {
                "id": r.pk,
                "kind": r.kind,
                "target_stage": r.target_stage,
                "status": r.status,
                "justification": r.justification,
                "archive_previous": r.archive_previous,
                "requested_by": _username(r.requested_by),
                "opened_at": _iso(r.created_at),
                "decided_at": _iso(r.decided_at),
                "policy": r.policy,  # the policy as it stood when the request opened
                "gates_required": gates_required(r.policy),
                "decisions": [
                    {
                        "approver": d.approver_username,
                        "approver_groups": d.approver_groups,
                        "outcome": d.outcome,
                        "reason": d.reason,
                        "decided_at": _iso(d.created_at),
                    }
                    for d in r.decisions.all()
                ],
            }
            for r in requests
        ],
        # What each stage the version is not in would ask of it when the bundle was made.
        "gates_at_generation": [
            {
                "stage": g.stage,
                "policy": g.snapshot,
                "passed": g.passed,
                "gates": [
                    {"name": x.name, "passed": x.passed, "reason": x.reason} for x in g.gates
                ],
            }
            for g in selectors.version_stage_gates(version)
        ],
    }


def artifacts(version) -> list[dict]:
    return [
        {
            "path": a.path,
            "size": a.size,
            "sha256": a.sha256,
            "content_type": a.content_type,
            "scan_status": a.scan_status,
            "scan_findings": a.scan_findings,
            "scanned_at": _iso(a.scanned_at),
        }
        for a in version.artifacts.order_by("path", "pk")
    ]


# --- The bundle ---------------------------------------------------------------------------


def write(*, user, scope, fmt, progress, out, now) -> str:
    if fmt != "zip":
        raise ValueError(f"an evidence bundle is a ZIP, not {fmt!r}")
    version = scope.version
    model = version.registered_model
    head = transparency.head_for_evidence()
    last_id = head.last_event_id or 0

    doc = techdoc.build(
        user=user, scope=scope, progress=lambda p, m: progress(p * 30 // 100, m), now=now
    )
    # Its document control block counts with the version's technical documentation
    # reports (the same document): the same version if the content is the same.
    doc.control, _ = control.document_control(
        kind=Report.Kind.EVIDENCE_BUNDLE,
        doc=doc,
        user=user,
        scope=scope,
        model_version_id=version.pk,
    )
    progress(30, "Technical documentation built; printing it")
    bundle = _Zip(out, now)
    pdf = render(doc, "pdf")
    bundle.add("technical-documentation.pdf", pdf.content)
    del pdf
    progress(55, "Technical documentation printed")
    rendered = render(doc, "json")
    digest = rendered.digest
    bundle.add("technical-documentation.json", rendered.content)
    del rendered

    bundle.add("model-card/README.md", hf_readme(version, card_of(version)).encode())
    progress(60, "Writing the audit events")
    count = 0
    events = version_events(version, last_id=last_id)
    batches = exports.iter_batches(events)
    with bundle.member("audit-events.jsonl") as member:
        for chunk in exports.jsonl_chunks(batches):
            member.write(chunk)
            count += chunk.count(b"\n")
    proofs = transparency.inclusion_proofs(events.values_list("id", flat=True), head)
    bundle.add(
        PROOFS,
        "".join(
            json.dumps({"id": event_id, **proof}, sort_keys=True) + "\n"
            for event_id, proof in sorted(proofs.items())
        ).encode(),
    )
    progress(80, f"{count:,} audit events written; approvals and artifacts")
    bundle.add("approvals.json", _json_bytes(approvals(user, version)))
    bundle.add("artifacts.json", _json_bytes(artifacts(version)))

    for add in EXTRA_MEMBERS:
        for path, data in add(user=user, version=version):
            bundle.add(path, data)

    declaration = selectors.compliance_documents(user, version, kind=DECLARATION).first()
    declared = None
    if declaration is not None:
        progress(85, "Adding the declaration of conformity")
        with (
            default_storage.open(declaration.storage_name, "rb") as source,
            bundle.member("declaration-of-conformity.pdf") as member,
        ):
            while chunk := source.read(CHUNK):
                member.write(chunk)
        declared = {
            "file": "declaration-of-conformity.pdf",
            "filename": declaration.filename,
            "uploaded_by": declaration.uploaded_by_username,
            "uploaded_at": _iso(declaration.uploaded_at),
            # As recorded at upload; verify.py checks the file still matches it.
            "recorded_sha256": declaration.sha256,
        }

    progress(95, "Signing the manifest; writing the checksums")
    key = signing.public_keys()[0]
    bundle.add(PUBLIC_KEY, key.pem.encode())
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": now.isoformat(),
        "generated_by": user.get_username(),
        "subject": {
            "model": model.name,
            "version": version.version,
            "stage": version.stage,
            "risk_class": model.risk_class,
        },
        "technical_documentation_digest": digest,
        "audit_events": count,
        "audit_log": {
            "tree_head": head.as_json(),
            "leaf_hash": "SHA-256(0x00 || the event's 32-byte hash), RFC 6962",
            "proofs": PROOFS,
        },
        "signing_key": {
            "key_id": key.key_id,
            "fingerprint_sha256": signing.fingerprint(key.key),
            "file": PUBLIC_KEY,
        },
        "declaration_of_conformity": declared,
        "files": list(bundle.files),
    }
    manifest_bytes = _json_bytes(manifest)
    bundle.add(MANIFEST, manifest_bytes)
    key_id, signature = signing.sign(manifest_bytes)
    bundle.add(
        SIGNATURE,
        _json_bytes({"algorithm": "Ed25519", "key_id": key_id, "signature": signature}),
    )
    bundle.add(SUMS, "".join(f"{f['sha256']}  {f['path']}\n" for f in bundle.files).encode())
    bundle.close()
    progress(100, f"Evidence bundle ready: {len(bundle.files)} files")
    return digest
