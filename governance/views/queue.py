"""The approval queue and the live count in the navigation bar."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.web import paginate, query_without_page, render_htmx
from governance import selectors
from governance.models.lifecycle import GATED_STAGES
from governance.policy import current_policies
from registry.models import RiskClass

QUEUE_FILTERS = ("model", "team", "stage", "risk", "scope")
STOP_POLLING = 286  # htmx stops an `every` trigger on this status


@require_GET
def approval_queue(request):
    filters = {k: request.GET.get(k, "").strip() for k in QUEUE_FILTERS}
    page = paginate(request, selectors.approval_queue(request.user, **filters))
    policies = current_policies() if page.object_list else {}
    context = {
        "page": page,
        "rows": [(r, selectors.gate_summary(r, policies)) for r in page.object_list],
        "filters": filters,
        "filtered": any(filters[k] for k in ("model", "team", "stage", "risk")),
        "teams": selectors.queue_teams(request.user),
        "stages": [s for s, _ in GATED_STAGES],
        "risk_classes": RiskClass.choices,
        "scopes": selectors.queue_scopes(request.user),
        "querystring": query_without_page(request),
        "risk_requests": selectors.risk_requests_awaiting(request.user),
    }
    return render_htmx(request, "governance/queue.html", "governance/_queue_table.html", context)


@login_not_required  # a signed-out poll must stop quietly, not swap the login page in
@never_cache
@require_GET
def approval_count(request):
    """The navigation link, polled by htmx. Nothing changes: 204 (htmx swaps nothing)."""
    count = selectors.approval_count(request.user)
    if count is None:
        return HttpResponse("", status=STOP_POLLING)
    if request.GET.get("seen") == str(count):
        response = HttpResponse(status=204)
    else:
        response = render(
            request,
            "governance/_approvals_link.html",
            {"approval_count": count, "current": request.GET.get("current", "")},
        )
    patch_vary_headers(response, ["HX-Request"])
    return response
