"""Reads with rules. Each starts from the permission-filtered queryset, restrict()."""

from django.contrib.auth.models import Group
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import get_object_or_404

from core.models import Job
from governance import access
from registry.models import Artifact, Metric, ModelTag, ModelVersion, RegisteredModel, Stage
from registry.search import DENSE, few_matching_ids, match_size, matching_ids_sql, query_terms

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

# Names people type for one framework: the filter matches every name in the group, so
# "sklearn" finds versions logged as "scikit-learn" and the other way round (issue #19,
# item 4). Keys and names are lower case.
FRAMEWORK_ALIASES = {
    name: group
    for group in (
        ("scikit-learn", "sklearn"),
        ("pytorch", "torch"),
        ("tensorflow", "tf", "keras"),
        ("xgboost", "xgb"),
        ("lightgbm", "lgbm"),
    )
    for name in group
}


def framework_names(framework: str) -> list[str]:
    """The lower-case framework names one filter value stands for (itself and aliases)."""
    wanted = framework.strip().lower()
    return sorted(set(FRAMEWORK_ALIASES.get(wanted, ())) | {wanted})


LIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def models_visible(user, action: str = "view", *, few_rows: bool = False):
    """Registered models `user` may `action`; `few_rows` when the caller narrows the query
    to a handful of rows itself (see RestrictedQuerySet.restrict)."""
    return RegisteredModel.objects.restrict(user, action, few_rows=few_rows)


# A filter that matches at most this many models is applied as a literal id list (read
# first, in one cheap query), anything longer as `pk IN (subquery)`.
SHORT_LIST = 500


def _model_filter(ids_query, *, scoped: bool, short_ids=None, hashed=True):
    """Keep models whose id `ids_query` (a one-column values() queryset, or a RawSQL)
    selects.

    Planners misjudge these lists. SQLite assumes every IN (subquery) is short, which is
    wrong both ways: a page of a long list would look up and sort every listed model, and
    a page of a short list walked in sort order would read the whole index to find a few
    matches. PostgreSQL has no statistics for search prefixes. So the list is first read
    up to SHORT_LIST ids (`short_ids`, for a RawSQL, comes from the caller): a short list
    goes in as literal ids, which both size correctly; a long one stays a subquery, which
    on SQLite each row is tested against (access.ScanIn), and under a permission filter
    (`scoped`) SQLite counts from the user's grants instead of from the matches. On
    PostgreSQL a long list is read into a hash (`hashed`, see ScanIn) unless the caller
    knows it holds most of the table."""
    if short_ids is None and isinstance(ids_query, QuerySet):
        (column,) = ids_query.query.values_select
        first = list(ids_query.order_by().values_list(column, flat=True)[: SHORT_LIST + 1])
        short_ids = set(first) if len(first) <= SHORT_LIST else None
    if short_ids is not None:
        return Q(pk__in=sorted(short_ids))
    return access.ScanIn(F("pk"), ids_query, probe_only=scoped, hashed=hashed)


def model_search(user, *, q="", stage="", team="", tag="", framework="", sort=""):
    """The model list: search, filters and a sort, over what `user` may see.

    Each filter is a list of model ids from an index (see _model_filter), except stage
    None, which nearly every model passes and is tested per row through an index. The list
    page reads only the ids of this query (core.paging) and loads its rows with
    model_rows()."""
    qs = models_visible(user)
    scoped = qs.query.has_filters()  # False for registry-wide viewers
    terms = query_terms(q)
    if q.strip() and not terms:
        # Only punctuation ("%", "_", "*"): no word to look for, so nothing matches. Before
        # this, such a search fell through to "no search" and listed every model (#19, 5).
        return qs.none()
    if terms:
        size = match_size(terms, short=SHORT_LIST)  # PostgreSQL's estimate, else None
        qs = qs.filter(
            _model_filter(
                matching_ids_sql(terms),
                scoped=scoped,
                short_ids=None if size else few_matching_ids(terms, SHORT_LIST),
                hashed=size != DENSE,
            )
        )
    if stage == Stage.NONE:  # every version starts in None: most models have one
        qs = qs.filter(
            Exists(ModelVersion.objects.filter(registered_model=OuterRef("pk"), stage=stage))
        )
    elif stage in Stage.values:
        live = ModelVersion.objects.filter(stage=stage).values("registered_model_id")
        qs = qs.filter(_model_filter(live, scoped=scoped))
    if team:
        # A scalar subquery, not a join: its one id is known before the rows are read, so
        # a (team, sort column, id) index serves the filter and the order together.
        qs = qs.filter(team=Subquery(Group.objects.filter(name=team).values("pk")))
    if tag:
        key, _, value = tag.partition("=")
        tags = ModelTag.objects.filter(key=key.strip())
        if value:
            tags = tags.filter(value=value.strip())
        qs = qs.filter(_model_filter(tags.values("registered_model_id"), scoped=scoped))
    if framework:
        # Case-insensitive, through the (lower(framework), registered_model) index.
        versions = ModelVersion.objects.alias(framework_ci=Lower("framework")).filter(
            framework_ci__in=framework_names(framework)
        )
        models_with = versions.values("registered_model_id").distinct()  # index order: cheap
        qs = qs.filter(_model_filter(models_with, scoped=scoped))
    order = MODEL_SORTS.get(sort, MODEL_SORTS[DEFAULT_MODEL_SORT])
    # The tie-break runs the same way as the sort, so one (sort column, id) index serves
    # the whole ORDER BY, and a page of ids is read from the index alone.
    tie_break = "-pk" if order.startswith("-") else "pk"
    return qs.order_by(order, tie_break)


def model_rows(user, ids):
    """The rows of one page of the model list, with what the table shows (team, tags and
    live versions) and nothing more: no creator, and not the denormalised search text.
    Filtered again (per row, as they are few)."""
    return (
        models_visible(user, few_rows=True)
        .filter(pk__in=list(ids))
        .select_related("team")
        .defer("search_text")
        .prefetch_related(
            "tags",
            Prefetch(
                "versions",
                queryset=ModelVersion.objects.filter(stage__in=LIVE_STAGES)
                .only("id", "registered_model_id", "version", "stage")
                .order_by("-version"),
                to_attr="live_versions",
            ),
        )
    )


def filter_teams():
    """The teams for the list's team filter: every group that is not a role (teams are
    groups; the grant form lists them all too), whether or not the user sees a model of
    theirs; the filtered list itself is restricted as always.

    Listing only the teams that own a model the user can see looks cheap and is not: to
    leave a team out the query must prove the user sees none of its models, a walk over
    all of that team's models or all of the user's grants. Under the load test that was
    235 ms per list page for a data scientist who sees only their own team's 25,000 models
    (docs/performance.md)."""
    return Group.objects.exclude(name__in=access.SYSTEM_GROUPS).order_by("name")


def model_get(user, name: str, action: str = "view") -> RegisteredModel:
    """404 unless the user can see it; 403 (PermissionDenied) if they may see but not act."""
    visible = models_visible(user, few_rows=True).select_related("team", "created_by")
    model = get_object_or_404(visible, name=name)
    if action != "view":
        access.require(user, model, action)
    return model


def model_versions(user, model: RegisteredModel):
    """Versions of one model, newest first, if the user can see it. Restricting the model
    (one row) rather than each version keeps the count and the page on the
    (registered_model, version) index however many versions there are."""
    visible = models_visible(user, few_rows=True).filter(pk=model.pk).values("pk")
    return (
        ModelVersion.objects.filter(registered_model__in=visible)
        .select_related("created_by", "registered_model")
        .prefetch_related(Prefetch("metrics", queryset=Metric.objects.filter(dataset="")))
        .order_by("-version")
    )


def key_metric_names(model: RegisteredModel, limit: int = 3) -> list[str]:
    """The overall metrics most versions of this model report, for the versions table."""
    rows = (
        Metric.objects.filter(model_version__registered_model=model, dataset="")
        .values("name")
        .annotate(n=Count("id"))
        .order_by("-n", "name")[:limit]
    )
    return [r["name"] for r in rows]


def version_get(user, name: str, number: int, action: str = "view") -> ModelVersion:
    version = get_object_or_404(
        ModelVersion.objects.restrict(user, few_rows=True).select_related(
            "registered_model__team", "created_by"
        ),
        registered_model__name=name,
        version=number,
    )
    if action != "view":
        access.require(user, version.registered_model, action)
    return version


def artifact_get(user, name: str, number: int, artifact_id: int) -> Artifact:
    return get_object_or_404(
        Artifact.objects.restrict(user, few_rows=True).select_related(
            "model_version__registered_model"
        ),
        pk=artifact_id,
        model_version__version=number,
        model_version__registered_model__name=name,
    )


def job_get(user, job_id: int) -> Job:
    """A job is visible to whoever can see what it works on (or, if nothing, who started it)."""
    job = get_object_or_404(Job, pk=job_id)
    if job.model_version_id is not None:
        visible = ModelVersion.objects.restrict(user, few_rows=True)
        if not visible.filter(pk=job.model_version_id).exists():
            raise Http404
    elif job.created_by_id != user.pk:
        raise Http404
    return job
