"""Comparing versions side by side. Every read starts from ModelVersion.objects.restrict():
a version the user may not see never reaches a comparison, whatever the URL says."""

import csv
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch

from registry.cards import (
    METADATA_FIELDS,
    SECTIONS,
    DiffLine,
    Section,
    card_completeness,
    card_of,
    clean_text,
    line_diff,
)
from registry.models import Metric, ModelVersion

MAX_VERSIONS = 12
HIGHER, LOWER = "higher", "lower"
# Names that usually mean "lower is better" unless ATTEST_METRIC_DIRECTIONS says otherwise.
LOWER_HINTS = ("loss", "error", "rmse", "mae", "mse", "mape", "latency", "perplexity")
LINEAGE_LABELS = {
    "source": "Source",
    "run_id": "Training run",
    "run_link": "Run link",
    "code_repository": "Code repository",
    "code_commit": "Commit",
    "dataset_name": "Training dataset",
    "dataset_version": "Dataset version",
    "dataset_uri": "Dataset URI",
    "dataset_hash": "Dataset hash",
    "framework": "Framework",
    "framework_version": "Framework version",
}


# --- Settings ---------------------------------------------------------------------------------


def metric_directions() -> dict[str, str]:
    directions = {}
    for item in getattr(settings, "ATTEST_METRIC_DIRECTIONS", []):
        name, _, direction = item.rpartition(":")
        direction = direction.strip().lower()
        if not name.strip() or direction not in (HIGHER, LOWER):
            raise ImproperlyConfigured(
                f"ATTEST_METRIC_DIRECTIONS: {item!r} should be name:higher or name:lower."
            )
        directions[name.strip().lower()] = direction
    return directions


def metric_direction(name: str, directions: dict | None = None) -> str:
    """Whether a higher or a lower value of metric `name` is better."""
    directions = metric_directions() if directions is None else directions
    lowered = name.lower()
    if lowered in directions:
        return directions[lowered]
    return LOWER if any(hint in lowered for hint in LOWER_HINTS) else HIGHER


# --- Which versions ---------------------------------------------------------------------------


def parse_selection(values) -> tuple[list[int], list[str]]:
    """Version numbers from `v` parameters ("3", "v3", or "1,3,4"), in order, once each.
    Returns (numbers, what was not understood)."""
    numbers, bad = [], []
    for value in values:
        for item in str(value).split(","):
            item = item.strip().lstrip("vV")
            if not item:
                continue
            if item.isdigit() and 0 < int(item) < 2**31:
                if int(item) not in numbers:
                    numbers.append(int(item))
            else:
                bad.append(item[:20])
    return numbers, bad


def selectable_versions(user, model, limit: int = 200):
    """The versions of `model` the user may pick from (newest first)."""
    return (
        ModelVersion.objects.restrict(user)
        .filter(registered_model=model)
        .only("id", "registered_model_id", "version", "stage", "created_at")
        .order_by("-version")[:limit]
    )


def versions_to_compare(user, model, numbers: list[int]) -> list[ModelVersion]:
    """The selected versions the user may see, in the order they were selected (the first
    is the baseline), with everything the comparison shows loaded in a fixed number of
    queries."""
    if not numbers:
        return []
    queryset = (
        ModelVersion.objects.restrict(user, few_rows=True)
        .filter(registered_model=model, version__in=numbers[:MAX_VERSIONS])
        .select_related("registered_model", "created_by", "card")
        .prefetch_related("metrics", "params", "tags", "artifacts")
        .order_by("version")
    )
    if hasattr(ModelVersion, "transition_requests"):  # governance's requests, if installed
        queryset = queryset.prefetch_related(
            Prefetch("transition_requests", to_attr="requests_for_compare")
        )
    position = {number: index for index, number in enumerate(numbers)}
    return sorted(queryset, key=lambda v: position[v.version])


# --- The comparison ---------------------------------------------------------------------


@dataclass
class Cell:
    value: object = None
    present: bool = True
    changed: bool = False  # differs from the baseline
    best: bool = False
    delta: float | None = None
    delta_pct: float | None = None
    status: str = ""  # artifacts: base, identical, changed, added, removed, absent
    extra: dict = field(default_factory=dict)


@dataclass
class Row:
    label: str
    detail: str
    cells: list[Cell]
    differs: bool = False
    direction: str = ""


@dataclass
class CardSectionCompare:
    section: Section
    texts: list[str]
    diffs: list[list[DiffLine] | None]  # per version: the diff from the baseline, or None

    @property
    def differs(self) -> bool:
        return len(set(self.texts)) > 1


@dataclass
class Comparison:
    versions: list[ModelVersion]
    baseline_index: int
    status: list[dict]
    metrics: list[Row]
    params: list[Row]
    tags: list[Row]
    lineage: list[Row]
    artifacts: list[Row]
    card_details: list[Row]
    card_sections: list[CardSectionCompare]

    @property
    def baseline(self) -> ModelVersion:
        return self.versions[self.baseline_index]

    @property
    def params_differing(self):
        return [r for r in self.params if r.differs]

    @property
    def params_identical(self):
        return [r for r in self.params if not r.differs]

    @property
    def tags_differing(self):
        return [r for r in self.tags if r.differs]

    @property
    def tags_identical(self):
        return [r for r in self.tags if not r.differs]

    @property
    def metric_names(self) -> list[str]:
        return sorted({r.label for r in self.metrics if not r.detail})


def _approval(version) -> dict:
    requests = sorted(
        getattr(version, "requests_for_compare", []), key=lambda r: (r.created_at, r.pk)
    )
    latest = requests[-1] if requests else None
    return {
        "stage": version.stage,
        "production_approved_at": version.production_approved_at,
        "request": (
            {
                "target": latest.target_stage,
                "status": latest.status,
                "label": latest.get_status_display(),
            }
            if latest
            else None
        ),
    }


def _metric_rows(versions, base: int, directions: dict) -> list[Row]:
    values: dict[tuple[str, str], list] = {}
    for index, version in enumerate(versions):
        for m in version.metrics.all():
            values.setdefault((m.name, m.dataset), [None] * len(versions))[index] = m.value
    rows = []
    for (name, dataset), row_values in sorted(
        values.items(), key=lambda kv: (kv[0][1] != "", kv[0])
    ):
        direction = metric_direction(name, directions)
        present = [v for v in row_values if v is not None]
        best = None
        if len(present) > 1 and len(set(present)) > 1:
            best = max(present) if direction == HIGHER else min(present)
        base_value = row_values[base]
        cells = []
        for index, value in enumerate(row_values):
            cell = Cell(
                value=value, present=value is not None, best=value is not None and value == best
            )
            if index != base and value is not None and base_value is not None:
                cell.delta = value - base_value
                cell.delta_pct = (cell.delta / abs(base_value) * 100) if base_value else None
                gain = cell.delta if direction == HIGHER else -cell.delta
                cell.extra["trend"] = "better" if gain > 0 else ("worse" if gain < 0 else "same")
            cell.changed = index != base and value != base_value
            cells.append(cell)
        rows.append(
            Row(name, dataset, cells, differs=len(set(row_values)) > 1, direction=direction)
        )
    return rows


def _keyed_rows(versions, base: int, items_of) -> list[Row]:
    values: dict[str, list] = {}
    for index, version in enumerate(versions):
        for key, value in items_of(version):
            values.setdefault(key, [None] * len(versions))[index] = value
    rows = []
    for key in sorted(values):
        row_values = values[key]
        cells = [
            Cell(value=v, present=v is not None, changed=i != base and v != row_values[base])
            for i, v in enumerate(row_values)
        ]
        rows.append(Row(key, "", cells, differs=len(set(row_values)) > 1))
    return rows


def _lineage_rows(versions, base: int) -> list[Row]:
    rows = []
    for name in ModelVersion.LINEAGE_FIELDS:
        row_values = [getattr(v, name) or "" for v in versions]
        if not any(row_values):
            continue
        cells = [
            Cell(value=v, present=bool(v), changed=i != base and v != row_values[base])
            for i, v in enumerate(row_values)
        ]
        rows.append(Row(LINEAGE_LABELS.get(name, name), name, cells, len(set(row_values)) > 1))
    return rows


def _artifact_rows(versions, base: int) -> list[Row]:
    by_path: dict[str, list] = {}
    for index, version in enumerate(versions):
        for a in version.artifacts.all():
            by_path.setdefault(a.path, [None] * len(versions))[index] = a
    rows = []
    for path in sorted(by_path):
        found = by_path[path]
        base_artifact = found[base]
        cells = []
        for index, artifact in enumerate(found):
            if index == base:
                status = "base" if artifact else "absent"
            elif artifact and base_artifact:
                status = "identical" if artifact.sha256 == base_artifact.sha256 else "changed"
            elif artifact:
                status = "added"
            else:
                status = "removed" if base_artifact else "absent"
            cells.append(
                Cell(
                    value=artifact.sha256 if artifact else None,
                    present=artifact is not None,
                    changed=status in ("changed", "added", "removed"),
                    status=status,
                    extra={"size": artifact.size, "id": artifact.pk} if artifact else {},
                )
            )
        hashes = {a.sha256 if a else None for a in found}
        rows.append(Row(path, "", cells, differs=len(hashes) > 1))
    return rows


def _card_rows(versions, base: int, cards) -> tuple[list[Row], list[CardSectionCompare]]:
    details = []
    for f in METADATA_FIELDS:
        values = []
        for card in cards:
            value = card.metadata.get(f.key)
            values.append(", ".join(value) if isinstance(value, list) else (value or ""))
        if any(values):
            cells = [
                Cell(value=v, present=bool(v), changed=i != base and v != values[base])
                for i, v in enumerate(values)
            ]
            details.append(Row(f.label, f.key, cells, differs=len(set(values)) > 1))
    sections = []
    for section in SECTIONS:
        texts = [clean_text(card.sections.get(section.key)) for card in cards]
        if not any(texts):
            continue
        diffs = [
            None if i == base or t == texts[base] else line_diff(texts[base], t)
            for i, t in enumerate(texts)
        ]
        sections.append(CardSectionCompare(section, texts, diffs))
    return details, sections


def compare(versions: list[ModelVersion], baseline: int | None = None) -> Comparison:
    """Compare versions (already permission-filtered) against the baseline: the version
    numbered `baseline` if it is among them, else the first selected."""
    numbers = [v.version for v in versions]
    base = numbers.index(baseline) if baseline in numbers else 0
    directions = metric_directions()
    cards = [card_of(v) for v in versions]
    card_details, card_sections = _card_rows(versions, base, cards)
    status = []
    for version, card in zip(versions, cards, strict=True):
        approval = _approval(version)
        approval["completeness"] = card_completeness(card, version.metrics.all())
        approval["carried_over"] = card.carried_over
        status.append(approval)
    return Comparison(
        versions=versions,
        baseline_index=base,
        status=status,
        metrics=_metric_rows(versions, base, directions),
        params=_keyed_rows(versions, base, lambda v: ((p.key, p.value) for p in v.params.all())),
        tags=_keyed_rows(versions, base, lambda v: ((t.key, t.value) for t in v.tags.all())),
        lineage=_lineage_rows(versions, base),
        artifacts=_artifact_rows(versions, base),
        card_details=card_details,
        card_sections=card_sections,
    )


def metric_history(user, model, names: list[str]) -> dict[str, list[tuple[int, float]]]:
    """Each named metric's overall value across every version of the model the user may
    see, oldest first: what the charts draw."""
    history: dict[str, list[tuple[int, float]]] = {name: [] for name in names}
    if not names:
        return history
    rows = (
        Metric.objects.restrict(user)
        .filter(model_version__registered_model=model, dataset="", name__in=names)
        .values_list("name", "model_version__version", "value")
        .order_by("model_version__version")
    )
    for name, number, value in rows:
        history[name].append((number, value))
    return history


# --- CSV --------------------------------------------------------------------------------------


def _csv_safe(value) -> object:
    """Numbers as they are; text that a spreadsheet would run as a formula, quoted."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else value
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def comparison_csv(comparison: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    versions = comparison.versions
    writer.writerow(["section", "item", "detail", *[f"v{v.version}" for v in versions], "differs"])

    def write(section, item, detail, values, differs):
        writer.writerow(
            [
                _csv_safe(section),
                _csv_safe(item),
                _csv_safe(detail),
                *[_csv_safe(v) for v in values],
                "yes" if differs else "no",
            ]
        )

    stages = [s["stage"] for s in comparison.status]
    write("status", "stage", "", stages, len(set(stages)) > 1)
    approved = [
        s["production_approved_at"].isoformat() if s["production_approved_at"] else ""
        for s in comparison.status
    ]
    write("status", "approved for Production", "", approved, len(set(approved)) > 1)
    scores = [s["completeness"].score for s in comparison.status]
    write("status", "model card completeness (%)", "", scores, len(set(scores)) > 1)
    for row in comparison.metrics:
        detail = row.detail or "overall"
        write("metric", row.label, detail, [c.value for c in row.cells], row.differs)
    for group, rows in (("param", comparison.params), ("tag", comparison.tags)):
        for row in rows:
            write(group, row.label, "", [c.value for c in row.cells], row.differs)
    for row in comparison.lineage:
        write("lineage", row.label, "", [c.value for c in row.cells], row.differs)
    for row in comparison.artifacts:
        write("artifact", row.label, "sha256", [c.value for c in row.cells], row.differs)
        sizes = [c.extra.get("size") for c in row.cells]
        write("artifact", row.label, "size (bytes)", sizes, len(set(sizes)) > 1)
        write("artifact", row.label, "status", [c.status for c in row.cells], row.differs)
    for row in comparison.card_details:
        write("model card", row.label, "", [c.value for c in row.cells], row.differs)
    for compared in comparison.card_sections:
        write(
            "model card",
            compared.section.title,
            "characters",
            [len(t) for t in compared.texts],
            compared.differs,
        )
    return out.getvalue()
