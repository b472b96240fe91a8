from django.conf import settings
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header

from core.paging import CappedPaginator


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


def paginate_capped(request, queryset, load_rows):
    """A page of a long list whose count stops at ATTEST_LIST_COUNT_CAP (core.paging)."""
    paginator = CappedPaginator(
        queryset,
        settings.ATTEST_PAGE_SIZE,
        load_rows=load_rows,
        cap=settings.ATTEST_LIST_COUNT_CAP,
    )
    return paginator.get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def stored_file_response(storage_name: str, *, filename: str, content_type: str):
    """A stored file as a download. Call it after the permission check and the audit
    event: on S3 the bytes come straight from the bucket through a short-lived signed
    URL; on local files they are streamed, never shown as part of the application."""
    if hasattr(default_storage, "bucket"):
        return HttpResponseRedirect(
            default_storage.url(
                storage_name,
                parameters={
                    "ResponseContentDisposition": content_disposition_header(True, filename),
                    "ResponseContentType": content_type,
                },
            )
        )
    response = FileResponse(
        default_storage.open(storage_name, "rb"),
        as_attachment=True,
        filename=filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    # Every download is an audited event: no shared cache may answer the next one.
    response["Cache-Control"] = "private, no-store"
    return response
