"""Compliance documents on the version page: upload the signed declaration of conformity,
download it (audited). Out of scope answers 404, read-only users 403 on the upload."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.web import stored_file_response
from governance import selectors
from governance.forms import ComplianceUploadForm, add_service_errors
from governance.services.compliance import (
    PDF_CONTENT_TYPE,
    compliance_document_download_record,
    compliance_document_upload,
    max_bytes,
)
from registry import selectors as registry_selectors
from registry import storage


@require_http_methods(["GET", "POST"])
def compliance_upload(request, name, number):
    """GET: the upload form on its own page. POST: store the PDF, then back to the version
    page; on an error this page again, with the message and the form."""
    version = registry_selectors.version_get(request.user, name, number, "change")
    posted = request.method == "POST"
    form = ComplianceUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted:
        oversize = getattr(request, "oversize_uploads", ())
        if oversize:
            # The upload handler skipped the file mid-stream: say why, not "required".
            limit = storage.human_size(settings.ARTIFACT_MAX_BYTES)
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error("file", f"{oversize[0]} is larger than the {limit} limit.")
        elif form.is_valid():
            try:
                document = compliance_document_upload(
                    actor=request.user,
                    model_version=version,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc, field="file")
            except storage.ArtifactStorageError as exc:
                form.add_error(None, f"{exc}. Nothing was saved; please try again.")
            else:
                messages.success(
                    request,
                    f"Uploaded {document.filename} as the {document.get_kind_display()} "
                    f"of {version} (SHA-256 {document.sha256[:12]}…).",
                )
                return redirect(f"{version.get_absolute_url()}#compliance")
    context = {
        "model": version.registered_model,
        "version": version,
        "form": form,
        "max_bytes": max_bytes(),
        "current": selectors.compliance_documents(
            request.user, version, kind=form.fields["kind"].initial
        ).first(),
    }
    return render(
        request, "governance/compliance_upload.html", context, status=400 if posted else 200
    )


@require_GET
def compliance_download(request, name, number, pk):
    document = selectors.compliance_document_get(request.user, name, number, pk)
    compliance_document_download_record(actor=request.user, document=document)
    return stored_file_response(
        document.storage_name, filename=document.filename, content_type=PDF_CONTENT_TYPE
    )
