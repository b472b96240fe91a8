"""Access reviews: the list (registry admins open one), a review's page listing the items
the user decides (what they could revoke), and the confirm / revoke / close posts."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from governance import access
from governance.models import AccessReview
from governance.services.access_reviews import (
    item_confirm,
    item_revoke,
    items_for,
    review_close,
    review_open,
)


@require_http_methods(["GET", "POST"])
def review_list(request):
    if request.method == "POST":
        try:
            review = review_open(actor=request.user)
        except ValidationError as exc:  # one open at a time: said on the page, 400
            messages.error(request, " ".join(exc.messages))
            return _list(request, status=400)
        messages.success(request, f"{review} opened: {review.items.count()} items to review.")
        return redirect(review)
    return _list(request)


def _list(request, status=200):
    return render(
        request,
        "governance/access_reviews.html",
        {"reviews": AccessReview.objects.all(), "may_open": access.is_registry_admin(request.user)},
        status=status,
    )


@require_http_methods(["GET"])
def review_detail(request, pk):
    return _detail(request, get_object_or_404(AccessReview, pk=pk))


def _detail(request, review, status=200):
    items = items_for(request.user, review)
    return render(
        request,
        "governance/access_review_detail.html",
        {
            "review": review,
            "items": items,
            "pending": items.filter(decision="pending").count(),
            "is_admin": access.is_registry_admin(request.user),
        },
        status=status,
    )


@require_POST
def item_decide(request, pk, item_pk):
    review = get_object_or_404(AccessReview, pk=pk)
    item = get_object_or_404(items_for(request.user, review), pk=item_pk)  # others' are 404
    decide = {"confirm": item_confirm, "revoke": item_revoke}.get(request.POST.get("decision"))
    if decide is None:
        messages.error(request, "Choose confirm or revoke.")
        return redirect(review)
    try:
        decide(actor=request.user, item=item, note=request.POST.get("note", ""))
    except (PermissionDenied, ValidationError) as exc:  # e.g. the model's last manager
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, f"{item.describe()}: {text}")
        return _detail(request, review, status=400)
    messages.success(request, f"{item.describe()}: {request.POST['decision']}ed.")
    return redirect(review)


@require_POST
def review_close_view(request, pk):
    review = get_object_or_404(AccessReview, pk=pk)
    try:
        review_close(actor=request.user, review=review)
    except ValidationError as exc:  # items still pending
        messages.error(request, " ".join(exc.messages))
        return _detail(request, review, status=400)
    messages.success(request, f"{review} closed.")
    return redirect(review)
