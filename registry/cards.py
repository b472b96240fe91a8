"""Model cards: the sections, completeness, the lock, and the Hugging Face README.md format.

The structure follows "Model Cards for Model Reporting" (Mitchell et al., 2019), with the
items regulators ask for added (the EU AI Act's intended purpose, human oversight). Every
section is markdown, rendered through registry.markdown (sanitised by nh3).

This module only reads. Writes are in registry/services/cards.py; the governance gate
("model card complete") calls `version_card_completeness`.
"""

import difflib
import math
import re
from dataclasses import dataclass, field

import yaml
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from registry import safe_yaml
from registry.models import ModelCard, Stage


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    help: str
    # Headings that mean this section in a Hugging Face README (lower case, no punctuation).
    aliases: tuple[str, ...] = ()


SECTIONS: tuple[Section, ...] = (
    Section(
        "model_details",
        "Model details",
        "What the model is: the developers, model type, framework, licence and base model "
        "(the fields above), and anything else a reader needs to place it: version history, "
        "papers, citation.",
        ("model details", "model description", "model summary", "overview"),
    ),
    Section(
        "intended_use",
        "Intended use",
        "The primary uses and users the model was built for.",
        ("intended use", "intended uses", "uses", "direct use", "downstream use", "use cases"),
    ),
    Section(
        "out_of_scope",
        "Out-of-scope uses",
        "Uses the model must not be put to, or that it was not designed or evaluated for.",
        ("out of scope uses", "out of scope use", "out of scope", "misuse"),
    ),
    Section(
        "intended_purpose",
        "Intended purpose",
        "In the EU AI Act's words (Art. 3(12)): the use for which the system is intended by "
        "the provider, including the specific context and conditions of use, as specified "
        "in the instructions for use.",
        ("intended purpose",),
    ),
    Section(
        "factors",
        "Factors",
        "Groups, instrumentation and environments that may change how the model performs, "
        "and which of them were evaluated.",
        ("factors", "relevant factors", "evaluation factors"),
    ),
    Section(
        "metrics",
        "Metrics",
        "The measures reported, why they were chosen, decision thresholds and how "
        "uncertainty was estimated.",
        ("metrics", "model performance measures", "evaluation metrics"),
    ),
    Section(
        "evaluation_data",
        "Evaluation data",
        "Datasets used for evaluation, why they were chosen, and how they were prepared.",
        ("evaluation data", "testing data", "test data", "evaluation datasets"),
    ),
    Section(
        "training_data",
        "Training data",
        "Provenance, scope and time range, how it was labelled, how it was cleaned and "
        "pre-processed, and known gaps.",
        ("training data", "training procedure", "training details", "preprocessing"),
    ),
    Section(
        "quantitative_analyses",
        "Quantitative analyses",
        "Results per group or slice and their intersections. The table below is filled "
        "from the version's metrics that carry a dataset or slice; add the narrative here.",
        ("quantitative analyses", "results", "evaluation results", "disaggregated results"),
    ),
    Section(
        "ethical_considerations",
        "Ethical considerations",
        "Sensitive data, effects on people's lives, mitigations, and the risks considered.",
        ("ethical considerations", "ethics", "bias"),
    ),
    Section(
        "risks_limitations",
        "Risks and limitations",
        "Known failure modes, foreseeable misuse, and the limits of what the evaluation shows.",
        ("risks and limitations", "bias risks and limitations", "limitations", "risks"),
    ),
    Section(
        "risk_management",
        "Risk management",
        "The risk management system for this model (EU AI Act Art. 9): why the model has its "
        "risk class, the known and reasonably foreseeable risks to health, safety and "
        "fundamental rights, how they were estimated and evaluated, and the mitigations "
        "adopted with the risk that remains.",
        (
            "risk management",
            "risk management system",
            "risk management measures",
            "risk assessment",
            "risk mitigation",
        ),
    ),
    Section(
        "caveats_recommendations",
        "Caveats and recommendations",
        "What users and deployers should know or do: further testing, monitoring, "
        "thresholds to revisit.",
        ("caveats and recommendations", "recommendations", "caveats"),
    ),
    Section(
        "human_oversight",
        "Human oversight",
        "How people oversee the model in operation (EU AI Act Art. 14): who can intervene, "
        "override or stop it, and what they need to understand its output.",
        ("human oversight", "human oversight measures", "oversight"),
    ),
    Section(
        "post_market_monitoring",
        "Post-market monitoring plan",
        "How the model's performance and compliance are monitored once it is in use (EU AI "
        "Act Art. 72): what data is collected and from where, the metrics and thresholds "
        "watched, how often they are reviewed, who acts on drift or incidents, and how "
        "serious incidents are reported.",
        (
            "post market monitoring plan",
            "post market monitoring",
            "monitoring plan",
            "monitoring",
        ),
    ),
    Section(
        "standards_applied",
        "Standards and specifications applied",
        "The harmonised standards applied in full or in part, common specifications, or the "
        "other relevant standards and technical specifications used to meet the "
        "requirements (EU AI Act Annex IV point 7), with the version of each.",
        (
            "standards and specifications applied",
            "standards applied",
            "harmonised standards",
            "harmonized standards",
            "standards",
        ),
    ),
    Section(
        "environmental_impact",
        "Environmental impact",
        "Compute used for training and inference, hardware, region, and estimated emissions.",
        ("environmental impact", "carbon emissions", "compute infrastructure"),
    ),
    Section(
        "contact",
        "Contact",
        "Who to contact with questions or to report a problem.",
        ("contact", "model card contact", "model card authors", "authors", "more information"),
    ),
)
SECTIONS_BY_KEY = {s.key: s for s in SECTIONS}
SECTION_KEYS = tuple(s.key for s in SECTIONS)
MAX_SECTION_CHARS = 50_000


@dataclass(frozen=True)
class MetadataField:
    key: str
    label: str
    help: str
    is_list: bool = False


METADATA_FIELDS: tuple[MetadataField, ...] = (
    MetadataField("developers", "Developers", "The people or team who built the model."),
    MetadataField("model_type", "Model type", "For example: gradient-boosted trees, classifier."),
    MetadataField(
        "license",
        "Licence",
        "An identifier as used on Hugging Face: apache-2.0, mit, cc-by-4.0, other.",
    ),
    MetadataField("base_model", "Base model", "The model this one was fine-tuned from, if any."),
    MetadataField("pipeline_tag", "Task", "The Hugging Face task, e.g. tabular-classification."),
    MetadataField("tags", "Tags", "Comma separated, for the README's front matter.", True),
    MetadataField("datasets", "Datasets", "Comma separated dataset identifiers.", True),
)
METADATA_KEYS = tuple(f.key for f in METADATA_FIELDS)
LICENSE_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,63}$")
PLACEHOLDER = "[More Information Needed]"


def clean_text(text) -> str:
    """Line endings normalised and trailing blank space removed, as stored."""
    text = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def clean_sections(sections: dict) -> dict[str, str]:
    """Only known sections, cleaned; empty ones left out."""
    cleaned = {key: clean_text((sections or {}).get(key, "")) for key in SECTION_KEYS}
    return {key: text for key, text in cleaned.items() if text}


def clean_metadata(metadata: dict) -> dict:
    cleaned = {}
    for f in METADATA_FIELDS:
        value = (metadata or {}).get(f.key)
        if f.is_list:
            items = value if isinstance(value, list | tuple) else str(value or "").split(",")
            items = [str(i).strip() for i in items if str(i).strip()]
            if items:
                cleaned[f.key] = list(dict.fromkeys(items))
        else:
            text = " ".join(str(value or "").split())
            if text:
                cleaned[f.key] = text
    return cleaned


# --- Completeness -----------------------------------------------------------------------


def required_section_keys() -> list[str]:
    keys = list(getattr(settings, "ATTEST_MODEL_CARD_REQUIRED_SECTIONS", []))
    unknown = [k for k in keys if k not in SECTIONS_BY_KEY]
    if unknown:
        raise ImproperlyConfigured(
            f"ATTEST_MODEL_CARD_REQUIRED_SECTIONS names unknown sections: {', '.join(unknown)}. "
            f"Known: {', '.join(SECTION_KEYS)}."
        )
    return list(dict.fromkeys(keys))


@checks.register()
def check_required_sections(app_configs=None, **kwargs):
    try:
        required_section_keys()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="registry.E001")]
    return []


def _has_text(text) -> bool:
    return bool(clean_text(str(text or "").replace(PLACEHOLDER, "")))


def section_filled(key: str, sections: dict, metadata: dict, *, has_slices: bool) -> bool:
    if _has_text(sections.get(key)):
        return True
    if key == "model_details":
        return all(metadata.get(k) for k in ("developers", "model_type", "license"))
    if key == "quantitative_analyses":
        return has_slices
    return False


@dataclass
class Completeness:
    required: list[Section]
    missing: list[Section]
    filled_sections: list[Section] = field(default_factory=list)

    @property
    def filled_required(self) -> int:
        return len(self.required) - len(self.missing)

    @property
    def score(self) -> int:
        """Percentage of the required sections that are filled."""
        if not self.required:
            return 100
        return math.floor(100 * self.filled_required / len(self.required))

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing_titles(self) -> list[str]:
        return [s.title for s in self.missing]


def completeness_of(sections: dict, metadata: dict, *, has_slices: bool) -> Completeness:
    sections, metadata = sections or {}, metadata or {}
    filled = [
        s for s in SECTIONS if section_filled(s.key, sections, metadata, has_slices=has_slices)
    ]
    filled_keys = {s.key for s in filled}
    required = [SECTIONS_BY_KEY[k] for k in required_section_keys()]
    return Completeness(
        required=required,
        missing=[s for s in required if s.key not in filled_keys],
        filled_sections=filled,
    )


def has_sliced_metrics(metrics) -> bool:
    return any(m.dataset for m in metrics)


def card_completeness(card: ModelCard, metrics=None) -> Completeness:
    """The completeness of `card`; `metrics` are its version's (loaded if not given)."""
    if metrics is None:
        metrics = card.model_version.metrics.all()
    return completeness_of(card.sections, card.metadata, has_slices=has_sliced_metrics(metrics))


def card_of(version) -> ModelCard:
    """The version's card, or an unsaved empty one (versions from before model cards)."""
    try:
        return version.card
    except ModelCard.DoesNotExist:
        return ModelCard(model_version=version)


def version_card_completeness(version) -> Completeness:
    """What the "model card complete" gate asks, from the card as stored now."""
    card = ModelCard.objects.filter(model_version_id=version.pk).first()
    return card_completeness(card or ModelCard(model_version=version), version.metrics.all())


def card_locked(version) -> bool:
    """A card is frozen once its version has been approved for Production."""
    return version.production_approved_at is not None or version.stage == Stage.PRODUCTION


# --- Quantitative analyses: the slice table ------------------------------------------------


@dataclass
class SliceTable:
    names: list[str]
    rows: list[tuple[str, list]]  # (slice, value per name or None)

    def __bool__(self):
        return bool(self.rows)


def slice_table(metrics) -> SliceTable:
    """Metrics that carry a dataset or slice, one row per slice, with the overall figure
    of the same metrics first for reference."""
    metrics = list(metrics)
    sliced = [m for m in metrics if m.dataset]
    if not sliced:
        return SliceTable([], [])
    names = sorted({m.name for m in sliced})
    values: dict[str, dict[str, float]] = {}
    for m in metrics:
        if m.name in names:
            values.setdefault(m.dataset, {})[m.name] = m.value
    slices = sorted(k for k in values if k)
    rows = []
    if "" in values:
        rows.append(("overall", [values[""].get(n) for n in names]))
    rows.extend((s, [values[s].get(n) for n in names]) for s in slices)
    return SliceTable(names, rows)


def format_value(value) -> str:
    return "–" if value is None else f"{value:.4g}"


# --- Diffs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    op: str  # "equal", "insert", "delete", "skip"
    text: str


def line_diff(old: str, new: str, *, context: int = 2) -> list[DiffLine]:
    """A line diff of two texts; long unchanged stretches are folded to `context` lines
    on each side of a change."""
    a, b = clean_text(old).split("\n"), clean_text(new).split("\n")
    a, b = ([] if a == [""] else a), ([] if b == [""] else b)
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            chunk = a[i1:i2]
            head = context if index > 0 else 0
            tail = context if index < len(opcodes) - 1 else 0
            if len(chunk) > head + tail + 1:
                lines += [DiffLine("equal", t) for t in chunk[:head]]
                lines.append(DiffLine("skip", f"{len(chunk) - head - tail} unchanged lines"))
                lines += [DiffLine("equal", t) for t in chunk[len(chunk) - tail :]]
            else:
                lines += [DiffLine("equal", t) for t in chunk]
            continue
        lines += [DiffLine("delete", t) for t in a[i1:i2]]
        lines += [DiffLine("insert", t) for t in b[j1:j2]]
    return lines


@dataclass
class SectionDiff:
    section: Section
    old: str
    new: str
    lines: list[DiffLine]

    @property
    def changed(self) -> bool:
        return self.old != self.new


def sections_diff(old: dict, new: dict) -> list[SectionDiff]:
    diffs = []
    for section in SECTIONS:
        a, b = clean_text(old.get(section.key)), clean_text(new.get(section.key))
        diffs.append(SectionDiff(section, a, b, line_diff(a, b) if a != b else []))
    return diffs


# --- Hugging Face README.md export -----------------------------------------------------------

GENERATED_START = "<!-- attest:generated -->"
GENERATED_END = "<!-- /attest:generated -->"
OVERALL = "overall"
DETAIL_LABELS = (
    ("developers", "Developers"),
    ("model_type", "Model type"),
    ("license", "Licence"),
    ("base_model", "Base model"),
)


def _generated(lines: list[str]) -> str:
    # Blank lines around the content, so markdown renderers see a table, not HTML.
    return "\n".join([GENERATED_START, "", *lines, "", GENERATED_END])


def _markdown_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def model_index(version, metrics, metadata: dict) -> list[dict]:
    """The model-index (Papers with Code format) of the version's metrics: one result per
    evaluation dataset or slice; the overall figures are the dataset "overall"."""
    by_dataset: dict[str, list] = {}
    for m in sorted(metrics, key=lambda m: (m.dataset, m.name)):
        by_dataset.setdefault(m.dataset, []).append(m)
    task = {"type": metadata.get("pipeline_tag") or "other"}
    results = []
    for dataset, rows in by_dataset.items():
        name = dataset or OVERALL
        results.append(
            {
                "task": dict(task),
                "dataset": {"name": name, "type": name},
                "metrics": [{"type": m.name, "value": m.value, "name": m.name} for m in rows],
            }
        )
    if not results:
        return []
    return [{"name": version.registered_model.name, "results": results}]


def front_matter(version, card: ModelCard, metrics) -> dict:
    metadata = clean_metadata(card.metadata)
    data: dict = {}
    for key in ("license", "base_model", "pipeline_tag"):
        if metadata.get(key):
            data[key] = metadata[key]
    if version.framework:
        data["library_name"] = version.framework
    for key in ("tags", "datasets"):
        if metadata.get(key):
            data[key] = list(metadata[key])
    names = sorted({m.name for m in metrics})
    if names:
        data["metrics"] = names
    index = model_index(version, metrics, metadata)
    if index:
        data["model-index"] = index
    return data


def _details_lines(version, metadata: dict) -> list[str]:
    lines = [f"- **{label}:** {metadata[key]}" for key, label in DETAIL_LABELS if metadata.get(key)]
    framework = " ".join(filter(None, [version.framework, version.framework_version]))
    if framework:
        lines.insert(2 if len(lines) >= 2 else len(lines), f"- **Framework:** {framework}")
    return lines


def _table_block(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_markdown_cell(h) for h in header) + " |"]
    lines.append("|" + " --- |" * len(header))
    lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in rows]
    return _generated(lines)


def hf_readme(version, card: ModelCard, metrics=None) -> str:
    """A Hugging Face compatible README.md: YAML front matter, then the card sections.

    Tables filled from the version's metrics sit between attest:generated comments, so an
    import of this file takes back what people wrote and leaves the figures to the data."""
    metrics = list(version.metrics.all() if metrics is None else metrics)
    metadata = clean_metadata(card.metadata)
    sections = clean_sections(card.sections)
    data = front_matter(version, card, metrics)
    dumped = (
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
        if data
        else ""
    )
    model = version.registered_model.name
    parts = ["---", *([dumped.rstrip("\n")] if dumped else []), "---", ""]
    parts += [f"# {model} v{version.version}", ""]
    parts.append(
        _generated([f"Model card exported from Attest: {model} version {version.version}."])
    )
    for section in SECTIONS:
        body: list[str] = []
        if section.key == "model_details":
            body += _details_lines(version, metadata)
        text = sections.get(section.key, "")
        if text:
            body += ["", text] if body else [text]
        if not body:
            body = [PLACEHOLDER]
        if section.key == "metrics":
            overall = [m for m in metrics if not m.dataset]
            if overall:
                rows = [[m.name, f"{m.value:.6g}"] for m in overall]
                body += ["", _table_block(["Metric", "Value"], rows)]
        if section.key == "quantitative_analyses":
            table = slice_table(metrics)
            if table:
                rows = [[name, *map(format_value, values)] for name, values in table.rows]
                body += ["", _table_block(["Slice", *table.names], rows)]
        parts += ["", f"## {section.title}", "", *body]
    return "\n".join(parts) + "\n"


# --- Hugging Face README.md import -----------------------------------------------------------

MAX_README_BYTES = 1024 * 1024
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
GENERATED_RE = re.compile(re.escape(GENERATED_START) + r".*?" + re.escape(GENERATED_END), re.DOTALL)
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
DETAIL_LINE_RE = re.compile(r"^[ \t]*[-*][ \t]+\*\*(?P<label>[^*:]+):?\*\*:?[ \t]*(?P<value>.*)$")
DETAIL_IMPORT = {
    "developers": "developers",
    "developed by": "developers",
    "model type": "model_type",
    "licence": "license",
    "license": "license",
    "base model": "base_model",
    "finetuned from model": "base_model",
    "fine tuned from model": "base_model",
    "framework": None,  # the version's lineage says it; never imported
    "library": None,
}


class CardImportError(ValueError):
    pass


@dataclass
class ParsedReadme:
    sections: dict[str, str]
    metadata: dict
    metrics: list[dict]  # name, value, dataset
    unrecognised: list[str]  # headings whose text was not imported
    ignored_keys: list[str]  # front matter keys not imported


def _normalise_heading(title: str) -> str:
    title = re.sub(r"\[optional\]", "", title, flags=re.I)
    title = re.sub(r"[^a-z0-9]+", " ", title.lower())
    return " ".join(title.split())


ALIASES = {alias: s.key for s in SECTIONS for alias in (s.aliases + (s.title.lower(),))}
ALIASES = {_normalise_heading(k): v for k, v in ALIASES.items()}


def split_front_matter(text: str) -> tuple[dict, str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    rest = text[text.index("\n") + 1 :]
    end = re.search(r"^---[ \t]*$", rest, re.M)
    if end is None:
        raise CardImportError("The front matter starts with --- but never ends with ---.")
    try:
        data = safe_yaml.load(rest[: end.start()]) or {}
    except safe_yaml.UnsafeYamlError as exc:
        raise CardImportError(f"The front matter is refused: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CardImportError(f"The front matter is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CardImportError("The front matter must be a YAML mapping (key: value lines).")
    return data, rest[end.end() :].lstrip("\n")


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _metrics_from_index(index) -> tuple[list[dict], list[str]]:
    metrics, problems = [], []
    if not isinstance(index, list):
        return [], ["model-index is not a list"]
    for entry in index:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            dataset = result.get("dataset") or {}
            name = str(dataset.get("name") or dataset.get("type") or "").strip()
            slice_name = "" if name.lower() == OVERALL else name
            for metric in result.get("metrics") or []:
                if not isinstance(metric, dict) or "type" not in metric:
                    continue
                metric_name = str(metric.get("name") or metric["type"]).strip()
                try:
                    value = float(metric.get("value"))
                except (TypeError, ValueError):
                    problems.append(f"{metric_name}: {metric.get('value')!r} is not a number")
                    continue
                if not math.isfinite(value):
                    problems.append(f"{metric_name}: {value} is not finite")
                    continue
                metrics.append({"name": metric_name, "value": value, "dataset": slice_name})
    return metrics, problems


def _body_sections(body: str) -> tuple[dict[str, list[list[str]]], list[str]]:
    """Split markdown at headings. A recognised heading starts its section; an unrecognised
    one at the same level or above ends it (its text is reported, not imported); deeper
    unrecognised headings stay part of the section's text. Code blocks are never split."""
    collected: dict[str, list[list[str]]] = {}  # key -> the text under each of its headings
    unrecognised: list[str] = []
    state = {"key": None, "level": 0, "unknown": None, "unknown_text": False}
    fence = None

    def close_unknown():
        if state["unknown"] and state["unknown_text"]:
            unrecognised.append(state["unknown"])
        state["unknown"], state["unknown_text"] = None, False

    def keep(line):
        if state["key"] is not None:
            collected[state["key"]][-1].append(line)
        elif line.strip() and line.strip() != PLACEHOLDER:
            if state["unknown"] is None:
                state["unknown"] = "(text before the first section)"
            state["unknown_text"] = True

    for line in body.split("\n"):
        fence_match = FENCE_RE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1).startswith(fence):
                fence = None
            keep(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            keep(line)
            continue
        heading = HEADING_RE.match(line)
        if not heading:
            keep(line)
            continue
        depth, title = len(heading.group(1)), heading.group(2).strip()
        key = ALIASES.get(_normalise_heading(title))
        if key:
            close_unknown()
            state["key"], state["level"] = key, depth
            collected.setdefault(key, []).append([])
        elif state["key"] is None or depth <= state["level"]:
            close_unknown()
            state["key"], state["level"] = None, depth
            state["unknown"] = title if depth > 1 else None  # a level-1 heading is the title
        else:
            keep(line)
    close_unknown()
    return collected, unrecognised


def _strip_placeholders(text: str) -> str:
    return clean_text("\n".join(x for x in text.split("\n") if x.strip() != PLACEHOLDER))


def parse_hf_readme(text: str) -> ParsedReadme:
    """Read a Hugging Face README.md: the front matter (licence, tags, datasets, base model,
    task, model-index metrics) and the sections whose headings it recognises."""
    if "\x00" in text:
        raise CardImportError("This does not look like a text file.")
    data, body = split_front_matter(text)
    body = COMMENT_RE.sub("", GENERATED_RE.sub("", body))
    collected, unrecognised = _body_sections(body)
    sections = {
        key: "\n\n".join(filter(None, (_strip_placeholders("\n".join(c)) for c in chunks)))
        for key, chunks in collected.items()
    }
    metadata: dict = {}
    details = sections.get("model_details", "")
    if details:
        kept = []
        for line in details.split("\n"):
            match = DETAIL_LINE_RE.match(line)
            label = _normalise_heading(match.group("label")) if match else ""
            if match and label in DETAIL_IMPORT:
                target, value = DETAIL_IMPORT[label], match.group("value").strip()
                if target and value and value != PLACEHOLDER:
                    metadata.setdefault(target, value)
                continue
            kept.append(line)
        sections["model_details"] = clean_text("\n".join(kept))
    for key in ("license", "base_model", "pipeline_tag"):
        values = _as_list(data.get(key))
        if values:
            metadata[key] = ", ".join(values)  # the front matter wins over the text
    for key in ("tags", "datasets"):
        metadata[key] = _as_list(data.get(key))
    metrics, problems = _metrics_from_index(data.get("model-index", []))
    handled = {"license", "base_model", "pipeline_tag", "tags", "datasets", "model-index"}
    handled |= {"metrics", "library_name"}  # derived from the version on export
    ignored = sorted(str(k) for k in data if k not in handled)
    if problems:
        ignored.append("model-index values: " + "; ".join(problems))
    return ParsedReadme(
        sections=clean_sections(sections),
        metadata=clean_metadata(metadata),
        metrics=metrics,
        unrecognised=unrecognised,
        ignored_keys=ignored,
    )


def decode_readme(raw: bytes) -> str:
    if len(raw) > MAX_README_BYTES:
        raise CardImportError(f"README.md files are limited to {MAX_README_BYTES // 1024} KB.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardImportError("README.md must be UTF-8 text.") from exc
