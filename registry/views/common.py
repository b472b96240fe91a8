from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_htmx(request, template: str, partial: str, context: dict, status: int = 200):
    """One view, two renderings: the partial for htmx requests, the page otherwise.

    A history restore (htmx's cache missed on Back) swaps the response into the whole
    body, so it gets the page too."""
    htmx = getattr(request, "htmx", None)
    wants_partial = bool(htmx) and not htmx.boosted and not htmx.history_restore_request
    response = render(request, partial if wants_partial else template, context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


def paginate(request, queryset, per_page: int | None = None):
    paginator = Paginator(queryset, per_page or settings.ATTEST_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
