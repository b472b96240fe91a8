from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.web import paginate, paginate_capped, query_without_page, render_htmx
from governance import access
from registry import selectors
from registry.forms import ModelEditForm, RegisteredModelForm
from registry.models import Stage
from registry.services import model_create, model_update
from registry.services.common import tags_text
from registry.services.models import can_register_models


def model_list(request):
    filters = {
        k: request.GET.get(k, "").strip() for k in ("q", "stage", "team", "tag", "framework")
    }
    sort = request.GET.get("sort", selectors.DEFAULT_MODEL_SORT)
    page = paginate_capped(
        request,
        selectors.model_search(request.user, sort=sort, **filters),
        load_rows=lambda ids: selectors.model_rows(request.user, ids),
    )
    context = {
        "page": page,
        "filters": filters,
        "sort": sort if sort in selectors.MODEL_SORTS else selectors.DEFAULT_MODEL_SORT,
        "stages": Stage.values,
        "teams": selectors.filter_teams(),
        "querystring": query_without_page(request),
        "can_register": can_register_models(request.user),
    }
    return render_htmx(request, "registry/model_list.html", "registry/_model_table.html", context)


def _form_errors_from(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@require_http_methods(["GET", "POST"])
def model_create_view(request):
    if not can_register_models(request.user):
        raise PermissionDenied("Only data scientists can register models.")
    form = RegisteredModelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            model = model_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"Registered {model.name}. Upload its first version next.")
            return redirect(model)
    status = 400 if form.errors else 200
    return render(request, "registry/model_form.html", {"form": form}, status=status)


def model_detail(request, name):
    model = selectors.model_get(request.user, name)
    versions = paginate(request, selectors.model_versions(request.user, model))
    metric_names = selectors.key_metric_names(model)
    rows = []
    for version in versions:
        by_name = {m.name: m.value for m in version.metrics.all()}
        rows.append((version, [by_name.get(n) for n in metric_names]))
    context = {
        "model": model,
        "versions": versions,
        "version_rows": rows,
        "metric_names": metric_names,
        "aliases": model.aliases.select_related("model_version__registered_model").all(),
        "tags": model.tags.all(),
        "can_change": access.allows(request.user, model, "change"),
    }
    return render_htmx(
        request, "registry/model_detail.html", "registry/_version_table.html", context
    )


@require_http_methods(["GET", "POST"])
def model_edit_view(request, name):
    model = selectors.model_get(request.user, name, "change")
    initial = {"description": model.description, "tags": tags_text(model.tags.all())}
    form = ModelEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        model_update(actor=request.user, registered_model=model, **form.cleaned_data)
        messages.success(request, f"Saved {model.name}.")
        return redirect(model)
    status = 400 if form.errors else 200
    return render(
        request, "registry/model_edit.html", {"form": form, "model": model}, status=status
    )
