from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.forms import apply_service_error
from core.views import ServiceFormView
from core.web import stored_file_response
from governance.object_permissions import ObjectPermissionMixin
from registry import selectors, storage, uploads
from registry.forms import (
    MetricFormSet,
    ParamFormSet,
    VersionUploadForm,
    collect_metrics,
    collect_params,
)
from registry.models import Job, RegisteredModel
from registry.services import version_create
from registry.services.artifacts import (
    artifact_download_record,
    needs_download_confirmation,
)
from registry.services.versions import UploadFile, VersionInput


class VersionCreate(ObjectPermissionMixin, ServiceFormView):
    """The upload form: files, metrics and params (two formsets), lineage. The body is read
    by `uploads.read_upload`, which notes an interrupted or oversized upload for the form."""

    queryset = RegisteredModel.objects.select_related("team", "created_by")
    action = "change"
    template_name = "registry/version_form.html"
    service_errors = (ValidationError, storage.ArtifactError, storage.ArtifactStorageError)

    def get_form(self):
        data = files = None
        interrupted = False
        if self.request.method == "POST":
            data, files, interrupted = uploads.read_upload(self.request)
        self.metric_formset = MetricFormSet(data, prefix="metrics")
        self.param_formset = ParamFormSet(data, prefix="params")
        return VersionUploadForm(
            data,
            files,
            oversize=getattr(self.request, "oversize_uploads", ()),
            max_bytes=settings.ARTIFACT_MAX_BYTES,
            interrupted=interrupted,
        )

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        formsets = (self.metric_formset, self.param_formset)
        if all([form.is_valid(), *(f.is_valid() for f in formsets)]):
            self.params = collect_params(self.param_formset, form.cleaned_data["params_file"])
            if not any(f.errors for f in self.param_formset.forms):
                return self.form_valid(form)
        return self.form_invalid(form)

    def perform(self, form):
        version_input = VersionInput(
            files=[UploadFile(f, f.name, f.content_type or "") for f in form.cleaned_data["files"]],
            metrics=collect_metrics(self.metric_formset),
            params=self.params,
            lineage=form.lineage(),
            tags=form.cleaned_data["tags"],
            description=form.cleaned_data["description"],
        )
        return version_create(
            actor=self.request.user, registered_model=self.object, data=version_input
        )

    def service_error(self, form, exc):
        if isinstance(exc, storage.ArtifactStorageError):
            form.add_error(None, f"{exc}. Nothing was saved; please try again.")
        else:
            field = "files" if isinstance(exc, storage.ArtifactError) else None
            apply_service_error(form, exc, field=field)

    def succeeded(self, form, version):
        messages.success(self.request, f"Uploaded version {version.version} of {self.object.name}.")
        return _redirect_after_upload(self.request, version)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            model=self.object,
            metric_formset=self.metric_formset,
            param_formset=self.param_formset,
            max_bytes=settings.ARTIFACT_MAX_BYTES,
            **kwargs,
        )


def _redirect_after_upload(request, version):
    url = version.get_absolute_url()
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        response = HttpResponse(status=201)
        response["X-Redirect"] = url  # the upload script follows this
        return response
    return redirect(url)


def version_detail(request, name, number):
    version = selectors.version_get(request.user, name, number)
    # Loaded once for the page: its tables, the model card's summary and the lifecycle
    # panel's gates all read them from the version.
    prefetch_related_objects([version], "metrics", "artifacts")
    context = _artifact_panel_context(version) | {
        "metrics": version.metrics.all(),
        "params": version.params.all(),
        "tags": version.tags.all(),
        "aliases": version.aliases.all(),
    }
    return render(request, "registry/version_detail.html", context)


def _artifact_panel_context(version) -> dict:
    """What the artifacts panel needs, for the page and for its htmx polling alike."""
    return {
        "model": version.registered_model,
        "version": version,
        "artifacts": version.artifacts.all(),
        "scan_job": Job.objects.filter(model_version_id=version.pk, kind="artifact_scan").first(),
    }


@require_GET
def scan_panel(request, name, number):
    """The artifacts panel, polled by htmx while a scan is running."""
    version = selectors.version_get(request.user, name, number)
    return render(request, "registry/_artifact_panel.html", _artifact_panel_context(version))


@require_http_methods(["GET", "POST"])
def artifact_download(request, name, number, artifact_id):
    """A download; for a flagged artifact, first a page that says what the scan found and
    asks for an explicit confirmation (a POST with the box ticked)."""
    artifact = selectors.artifact_get(request.user, name, number, artifact_id)
    if needs_download_confirmation(artifact):
        error = ""
        if request.method == "POST":
            if request.POST.get("confirm") == "yes":
                artifact_download_record(actor=request.user, artifact=artifact, confirmed=True)
                return _artifact_file(artifact)
            error = "Tick the box to confirm that you understand the risk."
        return render(
            request,
            "registry/artifact_confirm.html",
            {
                "artifact": artifact,
                "version": artifact.model_version,
                "model": artifact.model_version.registered_model,
                "error": error,
            },
            status=400 if error else 200,
        )
    if request.method == "POST":
        return redirect(request.path)
    artifact_download_record(actor=request.user, artifact=artifact)
    return _artifact_file(artifact)


def _artifact_file(artifact):
    return stored_file_response(
        artifact.storage_name,
        filename=artifact.path.rsplit("/", 1)[-1],
        content_type="application/octet-stream",
    )


@require_GET
def job_status(request, job_id):
    job = selectors.job_get(request.user, job_id)
    return render(request, "registry/_job.html", {"job": job})
