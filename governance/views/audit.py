"""The audit log, its exports and the per-model history. Thin: the rules live in
governance.audit_log (who sees which events, filters, pages, diffs) and
governance.exports (the streamed files)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.views.decorators.http import require_GET

from core.web import render_htmx
from governance import audit_log, exports
from registry import selectors

PAGE_SIZE = 50
CURSOR_PARAMS = ("before", "after")


def _require_audit_reader(user) -> None:
    if not audit_log.can_read_audit_log(user):
        raise PermissionDenied("The audit log is for auditors and registry admins.")


def _filter_query(request) -> str:
    """The current filters as a query string, without the page cursor."""
    params = request.GET.copy()
    for key in CURSOR_PARAMS:
        params.pop(key, None)
    return params.urlencode()


def _page_context(request, queryset, *, model_names=True) -> dict:
    page = audit_log.keyset_page(
        queryset,
        before=request.GET.get("before"),
        after=request.GET.get("after"),
        size=PAGE_SIZE,
    )
    audit_log.decorate(page.events, model_names=model_names)
    return {"page": page, "querystring": _filter_query(request)}


@require_GET
def audit_log_view(request):
    _require_audit_reader(request.user)
    form = audit_log.AuditFilterForm(request.GET or None)
    form.is_valid()  # the valid filters apply; an invalid one is shown with its error
    filters = form.filters()
    events = audit_log.apply_filters(audit_log.events_visible(request.user), filters)
    context = _page_context(request, events)
    context.update(
        {
            "form": form,
            "filters": filters,
            "action_choices": audit_log.action_choices(audit_log.distinct_actions()),
            "show_network": True,
            "table_url": request.path,
            "export_query": _filter_query(request),
        }
    )
    return render_htmx(
        request, "governance/audit_log.html", "governance/_audit_table.html", context
    )


@require_GET
def audit_export_view(request, fmt):
    _require_audit_reader(request.user)
    if fmt not in exports.FORMATS:
        return HttpResponseBadRequest("Export as csv or jsonl.")
    form = audit_log.AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(f"Invalid filters: {errors}")
    return exports.export_response(user=request.user, fmt=fmt, filters=form.filters())


@require_GET
def audit_export_proof_view(request):
    """The signed tree head and Merkle proofs for one of the user's exports
    (?export=<the X-Audit-Export-Event of that download>)."""
    _require_audit_reader(request.user)
    return exports.proof_response(user=request.user, export_event_id=request.GET.get("export"))


@require_GET
def model_history_view(request, name):
    model = selectors.model_get(request.user, name)  # 404 unless the user can see it
    form = audit_log.AuditFilterForm(request.GET or None)
    form.is_valid()
    filters = form.filters()
    filters.pop("model", None)
    if filters.get("version"):
        filters["model"] = model.name  # a version number means this model's version
    events = audit_log.apply_filters(audit_log.model_events(model), filters)
    context = _page_context(request, events, model_names=False)  # no link to this page
    show_network = audit_log.can_read_audit_log(request.user)
    export_params = request.GET.copy()
    for key in (*CURSOR_PARAMS, "model"):
        export_params.pop(key, None)
    export_params["model"] = model.name
    context.update(
        {
            "model": model,
            "form": form,
            "filters": filters,
            "action_choices": audit_log.action_choices([]),
            # Request ids, client addresses and exports are for the people who audit.
            "show_network": show_network,
            "table_url": request.path,
            "export_query": export_params.urlencode() if show_network else None,
        }
    )
    return render_htmx(
        request, "governance/model_history.html", "governance/_audit_table.html", context
    )
