"""Compliance documents on the version page: upload the signed declaration of conformity,
download it (audited). Out of scope answers 404, read-only users 403 on the upload."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.views.decorators.http import require_GET

from core.views import ServiceFormView
from core.web import stored_file_response
from governance import selectors
from governance.forms import ComplianceUploadForm
from governance.object_permissions import ObjectPermissionMixin
from governance.services.compliance import (
    PDF_CONTENT_TYPE,
    compliance_document_download_record,
    compliance_document_upload,
    max_bytes,
)
from registry import storage
from registry.models import ModelVersion


class ComplianceUpload(ObjectPermissionMixin, ServiceFormView):
    """GET: the upload form on its own page. POST: store the PDF, then back to the version
    page; on an error this page again, with the message and the form."""

    queryset = ModelVersion.objects.select_related("registered_model__team", "created_by")
    lookup = {"registered_model__name": "name", "version": "number"}
    action = "change"
    form_class = ComplianceUploadForm
    template_name = "governance/compliance_upload.html"
    service_errors = (ValidationError, storage.ArtifactStorageError)
    error_field = "file"

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        oversize = getattr(request, "oversize_uploads", ())
        if oversize:
            # The upload handler skipped the file mid-stream: say why, not "required".
            limit = storage.human_size(settings.ARTIFACT_MAX_BYTES)
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error("file", f"{oversize[0]} is larger than the {limit} limit.")
            return self.form_invalid(form)
        return super().post(request, *args, **kwargs)

    def perform(self, form):
        return compliance_document_upload(
            actor=self.request.user,
            model_version=self.object,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
        )

    def service_error(self, form, exc):
        if isinstance(exc, storage.ArtifactStorageError):
            form.add_error(None, f"{exc}. Nothing was saved; please try again.")
        else:
            super().service_error(form, exc)

    def get_success_message(self, form, document):
        return (
            f"Uploaded {document.filename} as the {document.get_kind_display()} "
            f"of {self.object} (SHA-256 {document.sha256[:12]}…)."
        )

    def get_success_url(self, result):
        return f"{self.object.get_absolute_url()}#compliance"

    def get_context_data(self, **kwargs):
        version, form = self.object, kwargs["form"]
        current = selectors.compliance_documents(
            self.request.user, version, kind=form.fields["kind"].initial
        ).first()
        return super().get_context_data(
            model=version.registered_model,
            version=version,
            max_bytes=max_bytes(),
            current=current,
            **kwargs,
        )


@require_GET
def compliance_download(request, name, number, pk):
    document = selectors.compliance_document_get(request.user, name, number, pk)
    compliance_document_download_record(actor=request.user, document=document)
    return stored_file_response(
        document.storage_name, filename=document.filename, content_type=PDF_CONTENT_TYPE
    )
