"""The Reports page: ask for a report, watch it being generated, download it later."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from core.views import ServiceFormView
from core.web import paginate, render_htmx, stored_file_response
from governance.models import Report
from governance.reports import kinds
from governance.reports.forms import ReportForm, available_kinds
from governance.reports.selectors import report_get, reports_visible, sees_all_reports
from governance.services.reports import report_download_record, report_request
from registry.csp import sandboxed_document_policy

# A stored HTML report is shown as a document, never as part of the application: no
# scripts, nothing fetched, no forms, no access to Attest's origin; its one style block is
# allowed by hash (registry/csp.py), never 'unsafe-inline'.
REPORT_CSS = "governance/reports/document.css"


def _list_context(request, form):
    reports = reports_visible(request.user).select_related("job")
    if request.GET.get("mine"):
        reports = reports.filter(requested_by=request.user)
    page = paginate(request, reports)
    return {
        "form": form,
        "page": page,
        "reports": page.object_list,
        "kinds": available_kinds(request.user),
        "formats_by_kind": {s.kind: list(s.formats) for s in kinds.KINDS.values()},
        "sees_all": sees_all_reports(request.user),
        "any_running": any(not r.is_finished for r in page.object_list),
    }


class ReportList(ServiceFormView):
    """GET: the list and the form (prefilled from the query string, e.g. from a version
    page; htmx gets the table). POST: queue a report, then go to its page to watch it."""

    form_class = ReportForm
    template_name = "governance/reports/list.html"
    partial_template_name = "governance/reports/_table.html"
    success_message = "Report queued. This page shows its progress."

    def get_initial(self):
        return self.request.GET.dict() or None

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"user": self.request.user}

    def perform(self, form):
        data = form.cleaned_data
        return report_request(
            actor=self.request.user, kind=data["kind"], fmt=data["format"], scope=data["scope"]
        )

    def get_context_data(self, **kwargs):
        return _list_context(self.request, kwargs["form"])


@require_GET
def report_detail(request, pk):
    report = report_get(request.user, pk)
    return render_htmx(
        request,
        "governance/reports/detail.html",
        "governance/reports/_status.html",
        {"report": report, "job": report.job, "scope_rows": _scope_rows(report.scope)},
    )


SCOPE_LABELS = {
    "model": "Model",
    "version": "Version",
    "period_start": "From",
    "period_end": "To (inclusive)",
    "team": "Team",
    "risk_class": "Risk class",
}


def _scope_rows(scope: dict) -> list[tuple[str, str]]:
    return [(label, scope[key]) for key, label in SCOPE_LABELS.items() if key in scope]


@require_GET
def report_download(request, pk):
    report = report_get(request.user, pk)
    inline = request.GET.get("inline") == "1" and report.format == Report.Format.HTML
    try:
        report_download_record(actor=request.user, report=report, inline=inline)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(report)
    content_type = kinds.CONTENT_TYPES[report.format]
    if not inline:
        return stored_file_response(
            report.storage_name, filename=report.filename, content_type=content_type
        )
    # Shown in the browser: from Attest itself, as a document with no scripts, nothing
    # fetched and no framing.
    response = FileResponse(
        default_storage.open(report.storage_name, "rb"), content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = sandboxed_document_policy(REPORT_CSS)
    response["Cache-Control"] = "private, no-store"
    response["X-Frame-Options"] = "DENY"
    return response
