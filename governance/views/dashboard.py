"""The home page: what needs the signed-in person, per role, each number a link.

One page for every role; each panel shows only what the role can act on or read
(approvers see what awaits their decision, data scientists their own requests, everyone
the models by stage and the reports ready). Every count comes from restrict(), so a
number never counts a row its link would not show. htmx re-reads the panels every
minute (the partial, `governance/_dashboard.html`)."""

from django.db.models import Count, Exists, OuterRef, Q
from django.views.decorators.http import require_GET

from core.web import render_htmx
from governance import selectors
from governance.models.lifecycle import TransitionRequest
from governance.models.reports import Report
from registry.models import ModelVersion, Stage
from registry.selectors import models_visible

MY_REQUESTS_SHOWN = 5


@require_GET
def home(request):
    user = request.user
    # The model counts in one query: the total and, per live stage, the models holding a
    # version in it (the numbers the model list shows under the same stage filter).
    live = (Stage.STAGING, Stage.PRODUCTION)
    counts = models_visible(user).aggregate(
        total=Count("pk"),
        **{
            stage: Count(
                "pk",
                filter=Q(
                    Exists(
                        ModelVersion.objects.filter(registered_model=OuterRef("pk"), stage=stage)
                    )
                ),
            )
            for stage in live
        },
    )
    stages = [(stage, counts[stage]) for stage in live]
    my_requests = list(
        TransitionRequest.objects.restrict(user, few_rows=True)
        .filter(requested_by=user, status=TransitionRequest.Status.PENDING)
        .select_related("model_version__registered_model")
        .order_by("-created_at")[: MY_REQUESTS_SHOWN + 1]
    )
    context = {
        "awaiting_me": selectors.approval_count(user),  # None for auditors
        "model_count": counts["total"],
        "stages": stages,
        "reports_ready": Report.objects.restrict(user).filter(status=Report.Status.READY).count(),
        "my_requests": my_requests[:MY_REQUESTS_SHOWN],
        "more_requests": len(my_requests) > MY_REQUESTS_SHOWN,
    }
    return render_htmx(request, "governance/dashboard.html", "governance/_dashboard.html", context)
