"""Reads with rules. Each starts from the permission-filtered queryset, restrict()."""

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404

from governance import access
from registry.models import Artifact, Job, Metric, ModelTag, ModelVersion, RegisteredModel, Stage
from registry.search import matching_ids_sql, query_terms

MODEL_SORTS = {
    "name": "name",
    "-name": "-name",
    "updated": "updated_at",
    "-updated": "-updated_at",
    "created": "created_at",
    "-created": "-created_at",
    "-versions": "-latest_version_number",
    "versions": "latest_version_number",
}
DEFAULT_MODEL_SORT = "-updated"
LIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def models_visible(user, action: str = "view"):
    return RegisteredModel.objects.restrict(user, action)


def model_search(user, *, q="", stage="", team="", tag="", framework="", sort=""):
    """The model list: search, filters and a sort, over what `user` may see."""
    qs = models_visible(user).select_related("team", "created_by")
    terms = query_terms(q)
    if terms:
        qs = qs.filter(id__in=matching_ids_sql(terms))
    if stage in Stage.values:
        qs = qs.filter(
            Exists(ModelVersion.objects.filter(registered_model=OuterRef("pk"), stage=stage))
        )
    if team:
        qs = qs.filter(team__name=team)
    if tag:
        key, _, value = tag.partition("=")
        tags = ModelTag.objects.filter(registered_model=OuterRef("pk"), key=key.strip())
        if value:
            tags = tags.filter(value=value.strip())
        qs = qs.filter(Exists(tags))
    if framework:
        qs = qs.filter(
            Exists(
                ModelVersion.objects.filter(
                    registered_model=OuterRef("pk"), framework__iexact=framework.strip()
                )
            )
        )
    order = MODEL_SORTS.get(sort, MODEL_SORTS[DEFAULT_MODEL_SORT])
    return qs.order_by(order, "pk").prefetch_related(
        "tags",
        Prefetch(
            "versions",
            queryset=ModelVersion.objects.filter(stage__in=LIVE_STAGES).order_by("-version"),
            to_attr="live_versions",
        ),
    )


def teams_visible(user):
    """Teams that own at least one model the user can see (for the team filter)."""
    return (
        Group.objects.filter(registered_models__in=models_visible(user).values("pk"))
        .exclude(name__in=access.ROLES)
        .distinct()
        .order_by("name")
    )


def model_get(user, name: str, action: str = "view") -> RegisteredModel:
    """404 unless the user can see it; 403 (PermissionDenied) if they may see but not act."""
    model = get_object_or_404(models_visible(user).select_related("team", "created_by"), name=name)
    if action != "view":
        access.require(user, model, action)
    return model


def model_versions(user, model: RegisteredModel):
    return (
        ModelVersion.objects.restrict(user)
        .filter(registered_model=model)
        .select_related("created_by", "registered_model")
        .prefetch_related(Prefetch("metrics", queryset=Metric.objects.filter(dataset="")))
        .order_by("-version")
    )


def key_metric_names(model: RegisteredModel, limit: int = 3) -> list[str]:
    """The overall metrics most versions of this model report, for the versions table."""
    from django.db.models import Count

    rows = (
        Metric.objects.filter(model_version__registered_model=model, dataset="")
        .values("name")
        .annotate(n=Count("id"))
        .order_by("-n", "name")[:limit]
    )
    return [r["name"] for r in rows]


def version_get(user, name: str, number: int, action: str = "view") -> ModelVersion:
    version = get_object_or_404(
        ModelVersion.objects.restrict(user).select_related("registered_model__team", "created_by"),
        registered_model__name=name,
        version=number,
    )
    if action != "view":
        access.require(user, version.registered_model, action)
    return version


def artifact_get(user, name: str, number: int, artifact_id: int) -> Artifact:
    return get_object_or_404(
        Artifact.objects.restrict(user).select_related("model_version__registered_model"),
        pk=artifact_id,
        model_version__version=number,
        model_version__registered_model__name=name,
    )


def job_get(user, job_id: int) -> Job:
    """A job is visible to whoever can see what it works on (or, if nothing, who started it)."""
    job = get_object_or_404(Job, pk=job_id)
    if job.model_version_id is not None:
        if not ModelVersion.objects.restrict(user).filter(pk=job.model_version_id).exists():
            raise Http404
    elif job.created_by_id != user.pk:
        raise Http404
    return job
