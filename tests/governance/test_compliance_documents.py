"""Compliance documents: the declaration of conformity upload (service and view), its
audited download, and the panel on the version page."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance import access, audit
from governance.models import AuditEvent, ComplianceDocument
from governance.services.compliance import compliance_document_upload
from tests.conftest import client_for

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DECLARATION = ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY


@pytest.fixture(autouse=True)
def store(settings, tmp_path) -> Path:
    """A FileSystemStorage of its own, so each test can see everything that was stored."""
    root = tmp_path / "store"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


def stored_files(root: Path) -> list[str]:
    """Compliance documents in storage (the versions' own artifacts are elsewhere)."""
    top = root / "compliance"
    return sorted(p.relative_to(root).as_posix() for p in top.rglob("*") if p.is_file())


def pdf(name="declaration.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def upload(actor, version, file=None):
    return compliance_document_upload(
        actor=actor, model_version=version, kind=DECLARATION, upload=file or pdf()
    )


def upload_url(version):
    return reverse(
        "governance:compliance-upload",
        args=[version.registered_model.name, version.version],
    )


def download_url(document):
    version = document.model_version
    return reverse(
        "governance:compliance-download",
        args=[version.registered_model.name, version.version, document.pk],
    )


@pytest.fixture
def read_auditor(auditor, model):
    access.grant(model, "view", user=auditor)
    return auditor


# --- The service ----------------------------------------------------------------------


def test_upload_stores_the_pdf_with_one_event(scientist, version, store, audit_count):
    document = upload(scientist, version, pdf("EU Declaration (signed).pdf"))
    assert audit_count() == 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "compliance.upload"
    assert event.target_type == "governance.compliancedocument"
    assert event.target_id == str(document.pk)
    assert event.registered_model_id == version.registered_model_id
    assert event.model_version_id == version.pk
    sha = hashlib.sha256(PDF).hexdigest()
    assert event.after == {
        "model": "fraud-detector",
        "version": 1,
        "kind": DECLARATION,
        "filename": "EU_Declaration_signed.pdf",
        "sha256": sha,
        "size": len(PDF),
    }
    assert document.sha256 == sha and document.size == len(PDF)
    assert document.uploaded_by_username == "dana"
    assert document.storage_name.startswith(f"compliance/{version.registered_model_id}/")
    assert (store / document.storage_name).read_bytes() == PDF


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("declaration.pdf", b"PK\x03\x04 a zip", "is not a PDF file"),
        ("declaration.docx", PDF, "is not a PDF: upload the signed document as a .pdf file"),
        ("declaration.pdf", b"", "is empty"),
    ],
)
def test_anything_but_a_pdf_is_refused(
    scientist, version, store, audit_count, name, content, message
):
    with pytest.raises(ValidationError, match=message):
        upload(scientist, version, SimpleUploadedFile(name, content))
    assert ComplianceDocument.objects.count() == 0
    assert stored_files(store) == [] and audit_count() == 0


def test_a_name_with_nothing_usable_is_refused(scientist, version, store):
    class Stream(io.BytesIO):
        name = "/../"

    with pytest.raises(ValidationError, match="is not a usable file name"):
        upload(scientist, version, Stream(PDF))
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []


def test_the_size_limit_is_enforced(scientist, version, store, settings):
    settings.ATTEST_COMPLIANCE_DOCUMENT_MAX_BYTES = 20
    with pytest.raises(ValidationError, match="larger than the 20 bytes limit"):
        upload(scientist, version)
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []


def test_the_size_limit_holds_for_streams_of_unknown_size(scientist, version, store, settings):
    settings.ATTEST_COMPLIANCE_DOCUMENT_MAX_BYTES = 20

    class Stream(io.BytesIO):
        name = "declaration.pdf"

    with pytest.raises(ValidationError, match="limit for compliance documents"):
        upload(scientist, version, Stream(PDF))
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []


def test_a_failed_write_leaves_no_file(scientist, version, store, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        upload(scientist, version)
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []


def test_read_only_users_cannot_upload(viewer, read_auditor, other_scientist, version, store):
    for user in (viewer, read_auditor, other_scientist):
        with pytest.raises(PermissionDenied):
            upload(user, version)
    assert stored_files(store) == []


def test_unknown_kind_is_refused(scientist, version):
    with pytest.raises(ValidationError, match="kind"):
        compliance_document_upload(
            actor=scientist, model_version=version, kind="poem", upload=pdf()
        )


# --- The views: the permission matrix ----------------------------------------------------


def test_anonymous_is_sent_to_sign_in(version):
    client = client_for(None)
    for response in (
        client.get(upload_url(version)),
        client.post(upload_url(version), {"kind": DECLARATION, "file": pdf()}),
    ):
        assert response.status_code == 302 and "/login" in response["Location"]


def test_no_grant_is_404(other_scientist, scientist, version, audit_count):
    document = upload(scientist, version)
    client = client_for(other_scientist)
    start = audit_count()
    assert client.get(upload_url(version)).status_code == 404
    response = client.post(upload_url(version), {"kind": DECLARATION, "file": pdf()})
    assert response.status_code == 404
    assert client.get(download_url(document)).status_code == 404
    assert audit_count() == start and ComplianceDocument.objects.count() == 1


def test_read_only_users_get_403(viewer, read_auditor, version, audit_count, store):
    for user in (viewer, read_auditor):
        client = client_for(user)
        start = audit_count()
        assert client.get(upload_url(version)).status_code == 403
        response = client.post(upload_url(version), {"kind": DECLARATION, "file": pdf()})
        assert response.status_code == 403
        assert audit_count() == start
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []


def test_granted_user_uploads_with_exactly_one_event(scientist, version, audit_count):
    client = client_for(scientist)
    assert client.get(upload_url(version)).status_code == 200
    start = audit_count()
    response = client.post(upload_url(version), {"kind": DECLARATION, "file": pdf()})
    assert response.status_code == 302
    assert response["Location"] == f"{version.get_absolute_url()}#compliance"
    assert audit_count() - start == 1
    assert AuditEvent.objects.latest("id").action == "compliance.upload"
    document = ComplianceDocument.objects.get()
    assert document.model_version == version and document.kind == DECLARATION
    page = client.get(version.get_absolute_url())
    assert b"Uploaded declaration.pdf as the EU declaration of conformity" in page.content


def test_a_non_pdf_upload_shows_the_error_and_keeps_nothing(scientist, version, store):
    client = client_for(scientist)
    response = client.post(
        upload_url(version),
        {"kind": DECLARATION, "file": SimpleUploadedFile("declaration.pdf", b"not a pdf")},
    )
    assert response.status_code == 400
    assert b"is not a PDF file (it does not start with %PDF-)" in response.content
    assert ComplianceDocument.objects.count() == 0 and stored_files(store) == []
    response = client.post(upload_url(version), {"kind": DECLARATION})
    assert response.status_code == 400 and b"Choose a PDF file to upload." in response.content


def test_download_is_audited(scientist, viewer, read_auditor, version, audit_count):
    document = upload(scientist, version)
    for user in (viewer, read_auditor):
        client = client_for(user)
        start = audit_count()
        response = client.get(download_url(document))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        assert audit_count() - start == 1
        event = AuditEvent.objects.latest("id")
        assert event.action == "compliance.download" and event.actor_username == user.username
        assert event.after["sha256"] == document.sha256
        assert event.model_version_id == version.pk


def test_download_checks_the_url_matches_the_document(scientist, model, version):
    from tests.factories import make_version

    document = upload(scientist, version)
    other = make_version(scientist, model)
    url = reverse("governance:compliance-download", args=[model.name, other.version, document.pk])
    assert client_for(scientist).get(url).status_code == 404
    assert client_for(None).get(download_url(document)).status_code == 302


# --- The panel on the version page ------------------------------------------------------


def test_panel_says_missing_and_offers_the_upload_to_editors_only(scientist, viewer, version):
    page = client_for(scientist).get(version.get_absolute_url()).content.decode()
    assert 'id="compliance"' in page and "Missing" in page
    assert upload_url(version) in page and 'enctype="multipart/form-data"' in page
    assert reverse("governance:report-create") in page
    assert 'value="technical_documentation"' in page and 'value="evidence_bundle"' in page
    page = client_for(viewer).get(version.get_absolute_url()).content.decode()
    assert "Missing" in page and upload_url(version) not in page
    assert "Someone with change permission on fraud-detector can upload it" in page


def test_panel_shows_the_uploaded_declaration(scientist, viewer, version):
    upload(scientist, version, pdf("first.pdf"))
    document = upload(scientist, version, pdf("second.pdf", PDF + b"\n% v2\n"))
    page = client_for(viewer).get(version.get_absolute_url()).content.decode()
    assert "second.pdf" in page and document.sha256 in page
    assert download_url(document) in page and "by dana" in page
    assert "Earlier uploads (1)" in page and "first.pdf" in page
