from django.core.exceptions import PermissionDenied

from core.views import ServiceFormView
from core.web import paginate, paginate_capped, query_without_page, render_htmx
from governance import access
from governance.object_permissions import ObjectPermissionMixin
from registry import selectors
from registry.forms import ModelEditForm, RegisteredModelForm
from registry.models import RegisteredModel, Stage
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


class ModelCreate(ServiceFormView):
    form_class = RegisteredModelForm
    template_name = "registry/model_form.html"
    success_message = "Registered {result.name}. Upload its first version next."

    def prepare(self):
        super().prepare()
        if not can_register_models(self.request.user):
            raise PermissionDenied("Only data scientists can register models.")

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"user": self.request.user}

    def perform(self, form):
        return model_create(actor=self.request.user, **form.cleaned_data)


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


class ModelEdit(ObjectPermissionMixin, ServiceFormView):
    queryset = RegisteredModel.objects.select_related("team", "created_by")
    action = "change"
    form_class = ModelEditForm
    template_name = "registry/model_edit.html"
    success_message = "Saved {result.name}."

    def get_initial(self):
        return {"description": self.object.description, "tags": tags_text(self.object.tags.all())}

    def get_context_data(self, **kwargs):
        return super().get_context_data(model=self.object, **kwargs)

    def perform(self, form):
        model_update(actor=self.request.user, registered_model=self.object, **form.cleaned_data)
        return self.object
