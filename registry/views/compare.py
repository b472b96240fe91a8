"""Comparing versions of a model: side by side, charts of metrics across versions, CSV."""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from registry import charts, comparison, selectors

MAX_CHARTS = 6


def _selection(request, model):
    numbers, bad = comparison.parse_selection(request.GET.getlist("v"))
    versions = comparison.versions_to_compare(request.user, model, numbers)
    found = {v.version for v in versions}
    ignored = [f"v{n}" for n in numbers[: comparison.MAX_VERSIONS] if n not in found]
    ignored += [repr(b) for b in bad]
    too_many = len(numbers) > comparison.MAX_VERSIONS
    return versions, ignored, too_many


def compare_url(model, numbers, *, metrics=(), csv=False) -> str:
    """The comparison's address: the versions in order (the first is the baseline)."""
    name = "registry:compare-csv" if csv else "registry:compare"
    query = [("v", n) for n in numbers] + [("m", m) for m in metrics]
    return reverse(name, args=[model.name]) + ("?" + urlencode(query) if query else "")


def _charts(request, model, result, chosen) -> list[dict]:
    history = comparison.metric_history(request.user, model, chosen)
    selected = {v.version for v in result.versions}
    directions = comparison.metric_directions()
    drawn = []
    for index, name in enumerate(chosen):
        direction = comparison.metric_direction(name, directions)
        points = [
            charts.Point(f"v{number}", value, number in selected)
            for number, value in history.get(name, [])
        ]
        drawn.append(
            {
                "name": name,
                "direction": direction,
                "points": points,
                "svg": charts.line_chart(
                    points, title=name, direction=direction, chart_id=f"chart-{index}"
                ),
            }
        )
    return drawn


@require_GET
def compare_view(request, name):
    model = selectors.model_get(request.user, name)
    versions, ignored, too_many = _selection(request, model)
    numbers = [v.version for v in versions]
    context = {
        "model": model,
        "versions": versions,
        "ignored": ignored,
        "too_many": too_many,
        "max_versions": comparison.MAX_VERSIONS,
        "selectable": comparison.selectable_versions(request.user, model),
        "selected_numbers": set(numbers),
    }
    if len(versions) >= 2:
        result = comparison.compare(versions)
        names = result.metric_names
        chosen = [m for m in request.GET.getlist("m") if m in names] or names[:4]
        chosen = chosen[:MAX_CHARTS]
        context.update(
            {
                "result": result,
                "columns": list(zip(result.versions, result.status, strict=True)),
                "charts": _charts(request, model, result, chosen),
                "chosen_metrics": chosen,
                "metric_names": names,
                "share_url": request.build_absolute_uri(
                    compare_url(model, numbers, metrics=chosen)
                ),
                "csv_url": compare_url(model, numbers, csv=True),
                "baseline_urls": {
                    n: compare_url(model, [n, *(x for x in numbers if x != n)], metrics=chosen)
                    for n in numbers
                },
                "remove_urls": {
                    n: compare_url(model, [x for x in numbers if x != n], metrics=chosen)
                    for n in numbers
                },
            }
        )
    return render(request, "registry/compare.html", context)


@require_GET
def compare_csv(request, name):
    model = selectors.model_get(request.user, name)
    versions, _, _ = _selection(request, model)
    if not versions:
        return HttpResponse(
            "Select the versions to compare: ?v=1&v=2", status=400, content_type="text/plain"
        )
    result = comparison.compare(versions)
    response = HttpResponse(comparison.comparison_csv(result), content_type="text/csv")
    label = "-".join(f"v{v.version}" for v in versions)
    response["Content-Disposition"] = f'attachment; filename="{model.name}-compare-{label}.csv"'
    return response
