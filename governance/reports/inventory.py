"""The model inventory: every model the requester can see, one row each.

Each row: the model, its team and who registered it, its risk class, its versions by
stage ("Production v3; Staging v4; None 2; Archived 1"), the model card completeness of
the version that matters (the Production version, else the latest), for a high-risk
model the Annex IV completeness of that version (techdoc/figure.py), and its last
approval (when, by whom, for which stage). A summary section counts models by risk class
and versions by stage. The CSV is exactly the models table.

Built for thousands of models: the models are read in keyset pages of PAGE_SIZE (by
name) from `restrict(user, "view")`, and each page costs a fixed handful of grouped
queries (stage counts, Production and Staging numbers, cards, sliced metrics, approvals),
whatever the number of models or versions.
"""

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Subquery

from governance.models import Decision, TransitionRequest
from governance.reports.document import Document
from governance.reports.techdoc import annex_iv_completeness
from governance.reports.techdoc.figure import completeness_text as annex_iv_text
from registry.cards import Completeness, completeness_of
from registry.models import Metric, ModelCard, ModelVersion, RegisteredModel, RiskClass, Stage

KIND = "inventory"
PAGE_SIZE = 100
STAGE_ORDER = (Stage.PRODUCTION, Stage.STAGING, Stage.NONE, Stage.ARCHIVED)
NAMED_STAGES = (Stage.PRODUCTION, Stage.STAGING)  # listed by version number, the rest counted

COLUMNS = [
    "Model",
    "Team",
    "Risk class",
    "Versions by stage",
    "Registered by",
    "Card of version",
    "Card completeness",
    "Annex IV completeness",
    "Last approval",
    "Approved by",
    "Approved for",
]


# --- Shared with the audit report -----------------------------------------------------------


def card_completeness_by_version(version_ids) -> dict[int, Completeness]:
    """`registry.cards.version_card_completeness` for many versions in two queries: the
    cards as stored now (an empty card where there is none) and whether each version has
    sliced metrics."""
    ids = list(version_ids)
    if not ids:
        return {}
    cards = {
        vid: (sections, metadata)
        for vid, sections, metadata in ModelCard.objects.filter(model_version_id__in=ids)
        .order_by()
        .values_list("model_version_id", "sections", "metadata")
    }
    sliced = set(
        Metric.objects.filter(model_version_id__in=ids)
        .exclude(dataset="")
        .order_by()
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    result = {}
    for vid in ids:
        sections, metadata = cards.get(vid, ({}, {}))
        result[vid] = completeness_of(sections or {}, metadata or {}, has_slices=vid in sliced)
    return result


def completeness_text(completeness: Completeness | None) -> str | None:
    if completeness is None:
        return None
    if completeness.complete:
        return f"{completeness.score}% (complete)"
    missing = ", ".join(s.title for s in completeness.missing)
    return f"{completeness.score}% (missing {missing})"


def narrowed_models(user, scope):
    """The models `user` can view, narrowed by the scope's model, team and risk class."""
    models = RegisteredModel.objects.restrict(user, "view")
    if scope.model is not None:
        models = models.filter(pk=scope.model.pk)
    if scope.team is not None:
        models = models.filter(team_id=scope.team.pk)
    if scope.risk_class:
        models = models.filter(risk_class=scope.risk_class)
    return models


# --- One page of models ---------------------------------------------------------------------


@dataclass
class _Row:
    model: RegisteredModel
    counts: dict[str, int] = field(default_factory=dict)
    named: dict[str, list[int]] = field(default_factory=dict)  # Production/Staging numbers
    focus_version_id: int | None = None
    focus_version: int | None = None
    completeness: Completeness | None = None
    annex_iv: dict | None = None  # high-risk models only (techdoc.figure)
    approval: TransitionRequest | None = None
    approvers: list[str] = field(default_factory=list)

    def versions_by_stage(self) -> str:
        parts = []
        for stage in STAGE_ORDER:
            if stage in NAMED_STAGES and self.named.get(stage):
                parts.append(f"{stage} " + ", ".join(f"v{n}" for n in self.named[stage]))
            elif self.counts.get(stage):
                parts.append(f"{stage} {self.counts[stage]}")
        return "; ".join(parts) or "no versions"

    def cells(self) -> list:
        model = self.model
        approval = self.approval
        approved_for = None
        if approval is not None:
            approved_for = f"{approval.target_stage} (v{approval.model_version.version})"
            if approval.kind == TransitionRequest.Kind.POST_HOC:
                approved_for += ", post-hoc review of an emergency rollback"
        return [
            model.name,
            model.team.name,
            model.get_risk_class_display(),
            self.versions_by_stage(),
            model.created_by.get_username() if model.created_by else None,
            f"v{self.focus_version}" if self.focus_version else None,
            completeness_text(self.completeness),
            annex_iv_text(self.annex_iv),
            approval.decided_at.isoformat() if approval and approval.decided_at else None,
            (", ".join(self.approvers) or None) if approval is not None else None,
            approved_for,
        ]


def _page(models) -> list[_Row]:
    """Fill one page of models with their versions, cards and last approval."""
    rows = {m.pk: _Row(m) for m in models}
    if not rows:
        return []
    ids = list(rows)
    top = {}  # model id -> (highest version number, its pk)
    stats = (
        ModelVersion.objects.filter(registered_model_id__in=ids)
        .order_by()
        .values("registered_model_id", "stage")
        .annotate(n=Count("pk"))
    )
    for s in stats:
        row = rows[s["registered_model_id"]]
        row.counts[s["stage"]] = s["n"]
    named = (
        ModelVersion.objects.filter(registered_model_id__in=ids, stage__in=NAMED_STAGES)
        .order_by("registered_model_id", "version")
        .values_list("registered_model_id", "stage", "version", "pk")
    )
    for model_id, stage, number, pk in named:
        rows[model_id].named.setdefault(stage, []).append(number)
        if stage == Stage.PRODUCTION:
            top[model_id] = (number, pk)  # ascending: the last one is the highest
    for row in rows.values():
        model = row.model
        if row.model.pk in top:
            row.focus_version, row.focus_version_id = top[model.pk]
        elif model.latest_pk is not None:
            row.focus_version, row.focus_version_id = model.latest_number, model.latest_pk
    cards = card_completeness_by_version(
        r.focus_version_id for r in rows.values() if r.focus_version_id
    )
    focus = ModelVersion.objects.in_bulk(
        [
            r.focus_version_id
            for r in rows.values()
            if r.focus_version_id and r.model.risk_class == RiskClass.HIGH
        ]
    )
    for row in rows.values():
        row.completeness = cards.get(row.focus_version_id)
        if row.focus_version_id in focus:
            # The figure the cover and the Production gate print (one technical
            # documentation built per high-risk model: they are few).
            row.annex_iv = annex_iv_completeness(focus[row.focus_version_id])
    approval_ids = {r.model.last_approval_id: r for r in rows.values() if r.model.last_approval_id}
    if approval_ids:
        requests = TransitionRequest.objects.filter(pk__in=list(approval_ids)).select_related(
            "model_version"
        )
        for request in requests:
            approval_ids[request.pk].approval = request
        approvers = (
            Decision.objects.filter(
                request_id__in=list(approval_ids), outcome=Decision.Outcome.APPROVE
            )
            .order_by("created_at", "pk")
            .values_list("request_id", "approver_username")
        )
        for request_id, username in approvers:
            approval_ids[request_id].approvers.append(username)
    return list(rows.values())


def _annotated(models):
    versions = ModelVersion.objects.filter(registered_model=OuterRef("pk")).order_by("-version")
    approvals = TransitionRequest.objects.filter(
        model_version__registered_model=OuterRef("pk"),
        status=TransitionRequest.Status.APPROVED,
    ).order_by("-decided_at", "-pk")
    return models.select_related("team", "created_by").annotate(
        latest_pk=Subquery(versions.values("pk")[:1]),
        latest_number=Subquery(versions.values("version")[:1]),
        last_approval_id=Subquery(approvals.values("pk")[:1]),
    )


def iter_pages(models, *, page_size: int | None = None):
    """Keyset pages by name (unique): each page is one fresh query, no cursor held open."""
    page_size = page_size or PAGE_SIZE
    last = None
    while True:
        page = models.order_by("name")
        if last is not None:
            page = page.filter(name__gt=last)
        batch = list(_annotated(page)[:page_size])
        if not batch:
            return
        yield _page(batch)
        if len(batch) < page_size:
            return
        last = batch[-1].name


# --- The document ---------------------------------------------------------------------------


def build(*, user, scope, progress, now) -> Document:
    doc = Document(
        kind=KIND,
        title="Model inventory",
        subject=scope.describe(),
        scope=scope.as_json(),
        generated_by=user.get_username(),
        generated_at=now,
    )
    summary = doc.section(
        "summary",
        "Summary",
        intro="Counts over the models below: every model the requester can see in this scope.",
    )
    listing = doc.section(
        "models",
        "Models",
        intro="One row per model. Card completeness is that of the Production version, or "
        "of the latest version when none is in Production; the last approval is the most "
        "recently decided approved transition request.",
    )
    models = narrowed_models(user, scope)
    total = models.count()
    progress(0, f"Listing {total} models")

    by_risk = dict.fromkeys(RiskClass.values, 0)
    versions_by_stage = dict.fromkeys(STAGE_ORDER, 0)
    models_by_stage = dict.fromkeys(STAGE_ORDER, 0)
    incomplete_production = 0
    rows = []
    done = 0
    for page in iter_pages(models):
        for row in page:
            by_risk[row.model.risk_class] = by_risk.get(row.model.risk_class, 0) + 1
            for stage, n in row.counts.items():
                versions_by_stage[stage] = versions_by_stage.get(stage, 0) + n
                models_by_stage[stage] = models_by_stage.get(stage, 0) + (1 if n else 0)
            if row.named.get(Stage.PRODUCTION) and row.completeness is not None:
                incomplete_production += 0 if row.completeness.complete else 1
            rows.append(row.cells())
        done += len(page)
        progress(min(99, (100 * done) // max(total, 1)), f"{done} of {total} models")

    listing.item(
        "inventory",
        "Model inventory",
        source="registered models, versions, model cards and transition requests",
        fill="Register a model, or ask for access to the models you should see.",
    ).table(COLUMNS, rows, empty="No models in this scope.")
    doc.csv_columns = list(COLUMNS)
    doc.csv_rows = rows

    labels = dict(RiskClass.choices)
    summary.item("by_risk_class", "Models by risk class", source="registered models").table(
        ["Risk class", "Models"],
        [[labels.get(k, k), n] for k, n in by_risk.items()],
    )
    summary.item("by_stage", "Versions by stage", source="model versions").table(
        ["Stage", "Versions", "Models with a version in it"],
        [[stage.value, versions_by_stage[stage], models_by_stage[stage]] for stage in STAGE_ORDER],
    )
    doc.fact("Models", len(rows))
    doc.fact("Models in Production", models_by_stage.get(Stage.PRODUCTION, 0))
    doc.fact("Production models with an incomplete card", incomplete_production)
    progress(100, f"Listed {len(rows)} models")
    return doc
