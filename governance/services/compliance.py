"""Compliance documents: evidence uploaded for a version, such as the signed EU declaration
of conformity (EU AI Act Art. 47, Annex IV point 8), and every download of one.

An upload is streamed into storage (hashed with SHA-256 on the way, size-limited), then the
row and its one `compliance.upload` audit event are written in one transaction; if that
fails the stored file is removed again, so nothing is left half-written. Documents are
only ever added: a newer upload of the same kind supersedes the older one in reports.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from governance import access, audit
from governance.models import ComplianceDocument
from registry import storage
from registry.models import ModelVersion

PDF_MAGIC = b"%PDF-"
PDF_CONTENT_TYPE = "application/pdf"


def max_bytes() -> int:
    """The smaller of the compliance document limit and the storage's own limit."""
    return min(settings.ATTEST_COMPLIANCE_DOCUMENT_MAX_BYTES, settings.ARTIFACT_MAX_BYTES)


class _Limited:
    """Reads through to `stream`, refusing to go past `limit` bytes (stored uploads whose
    declared size was wrong, or streams with no size at all)."""

    def __init__(self, stream, *, limit: int, name: str):
        self.stream = stream
        self.limit = limit
        self.name = name
        self.count = 0

    def read(self, size=-1):
        data = self.stream.read(size)
        self.count += len(data or b"")
        if self.count > self.limit:
            raise storage.ArtifactTooLarge(_too_large(self.name, self.limit))
        return data

    @property
    def closed(self):
        return bool(getattr(self.stream, "closed", False))


def _too_large(name: str, limit: int) -> str:
    return f"{name} is larger than the {storage.human_size(limit)} limit for compliance documents."


def _clean_filename(upload) -> str:
    raw = getattr(upload, "name", "") or ""
    try:
        filename = storage.sanitize_path(raw, keep_dirs=False)
    except storage.ArtifactError as exc:
        raise ValidationError({"file": f"{raw or 'The file'} is not a usable file name."}) from exc
    if not filename.lower().endswith(".pdf"):
        raise ValidationError(
            {"file": f"{filename} is not a PDF: upload the signed document as a .pdf file."}
        )
    return filename


def _check_pdf(upload, filename: str) -> None:
    """The file must start with the PDF signature; the stream is rewound afterwards."""
    head = upload.read(len(PDF_MAGIC)) or b""
    upload.seek(0)
    if not head:
        raise ValidationError({"file": f"{filename} is empty."})
    if not head.startswith(PDF_MAGIC):
        raise ValidationError(
            {
                "file": f"{filename} is not a PDF file (it does not start with %PDF-). "
                "Export or scan the signed document to PDF and upload that."
            }
        )


def compliance_document_upload(
    *, actor, model_version: ModelVersion, kind: str, upload
) -> ComplianceDocument:
    """Store `upload` (a PDF) as the version's compliance document of `kind`. Needs change
    permission on the model (auditors never have it). Raises ValidationError for anything
    the user can fix, ArtifactStorageError if the storage backend failed."""
    version = ModelVersion.objects.select_related("registered_model").get(pk=model_version.pk)
    model = version.registered_model
    access.require(actor, model, "change")
    if kind not in ComplianceDocument.Kind.values:
        raise ValidationError({"kind": "Choose the kind of document."})
    if upload is None:
        raise ValidationError({"file": "Choose a PDF file to upload."})
    filename = _clean_filename(upload)
    limit = max_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise ValidationError({"file": _too_large(filename, limit)})
    _check_pdf(upload, filename)

    prefix = f"compliance/{model.pk}/{uuid.uuid4().hex}"
    try:
        stored = storage.store_stream(
            _Limited(upload, limit=limit, name=filename),
            prefix=prefix,
            path=filename,
            content_type=PDF_CONTENT_TYPE,
        )
    except storage.ArtifactError as exc:  # too large, empty: store_stream left nothing
        raise ValidationError({"file": str(exc)}) from exc
    try:
        with transaction.atomic():
            document = ComplianceDocument.objects.create(
                model_version=version,
                kind=kind,
                filename=filename,
                storage_name=stored.storage_name,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by=actor,
                uploaded_by_username=actor.get_username(),
            )
            audit.record(
                actor=actor,
                action="compliance.upload",
                target=document,
                after={
                    "model": model.name,
                    "version": version.version,
                    "kind": kind,
                    "filename": filename,
                    "sha256": stored.sha256,
                    "size": stored.size,
                },
                registered_model_id=model.pk,
                model_version_id=version.pk,
            )
    except BaseException:
        storage.delete_quietly([stored.storage_name], prefix=prefix)
        raise
    return document


def compliance_document_download_record(*, actor, document: ComplianceDocument) -> None:
    """Downloads are recorded like artifact downloads: who fetched which bytes (by hash)."""
    version = document.model_version
    access.require(actor, version.registered_model, "view")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="compliance.download",
            target=document,
            after={
                "kind": document.kind,
                "filename": document.filename,
                "sha256": document.sha256,
                "size": document.size,
            },
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
