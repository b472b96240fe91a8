from functools import lru_cache
from urllib.parse import urlencode

from django import template
from django.template.defaultfilters import striptags, truncatechars_html
from django.utils.html import escape
from django.utils.safestring import mark_safe

from registry.markdown import render_markdown
from registry.storage import human_size

register = template.Library()

STAGE_CLASSES = {
    "Production": "badge-prod",
    "Staging": "badge-staging",
    "Archived": "badge-muted",
    "None": "badge-none",
}
SCAN_CLASSES = {
    "clean": "badge-ok",
    "flagged": "badge-danger",
    "error": "badge-warn",
    "pending": "badge-staging",
    "not_applicable": "badge-muted",
}


@register.filter
def scan_badge(artifact):
    """(badge class, label) for an artifact's scan. "Clean" in green only when the scan
    found nothing: a clean verdict that lists findings (left by an older scanner) asks for
    a re-scan instead, and blocks promotion like any other non-clean status."""
    status = artifact.scan_status
    if status == "clean" and artifact.scan_findings:
        return "badge-warn", "Re-scan needed"
    return SCAN_CLASSES.get(status, "badge-muted"), artifact.get_scan_status_display()


@register.filter
def download_needs_confirmation(artifact) -> bool:
    from registry.services.artifacts import needs_download_confirmation

    return needs_download_confirmation(artifact)


@register.filter(name="markdown")
def markdown_filter(text):
    return mark_safe(render_markdown(text))  # noqa: S308  (sanitised by nh3)


# Texts longer than this are not remembered (the cache stays small whatever people write).
EXCERPT_CACHE_MAX_CHARS = 4000


@register.filter
def excerpt(text, length=110):
    """A description as one line of plain text for a list: exactly
    `text|markdown|truncatechars_html:length|striptags`, remembered per text because the
    model list shows 25 of them per page and the markdown costs most of a row."""
    text = text or ""
    if len(text) > EXCERPT_CACHE_MAX_CHARS:
        return _excerpt(text, int(length))
    return _cached_excerpt(text, int(length))


def _excerpt(text: str, length: int):
    return striptags(truncatechars_html(markdown_filter(text), length))


_cached_excerpt = lru_cache(maxsize=4096)(_excerpt)


@register.filter
def filesize(num):
    return human_size(int(num or 0))


@register.filter
def stage_class(stage):
    return STAGE_CLASSES.get(stage, "badge-none")


@register.filter
def scan_class(status):
    return SCAN_CLASSES.get(status, "badge-muted")


@register.filter
def metric(value):
    if value is None:
        return "–"
    return f"{value:.4g}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (and the page reset)."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.items())) if params else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, key, label, css_class=""):
    """A sortable column header: the link flips the order, aria-sort says the current one."""
    current = context.get("sort", "")
    if current == key:
        new, arrow, aria = f"-{key}", " ▲", ' aria-sort="ascending"'
    elif current == f"-{key}":
        new, arrow, aria = key, " ▼", ' aria-sort="descending"'
    else:
        new = f"-{key}" if key in ("updated", "created", "versions") else key
        arrow, aria = "", ""
    href = escape(query_with(context, sort=new))
    css = f' class="{escape(css_class)}"' if css_class else ""
    return mark_safe(  # noqa: S308  (label is ours, href escaped)
        f'<th scope="col"{css}{aria}><a href="{href}" hx-get="{href}" hx-target="#model-table" '
        f'hx-push-url="true">{escape(label)}{arrow}</a></th>'
    )
