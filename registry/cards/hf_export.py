"""The card as a Hugging Face README.md: YAML front matter with the model index, then the
sections.
"""

import yaml

from registry.cards.schema import PLACEHOLDER, SECTIONS, clean_metadata, clean_sections
from registry.cards.slices import format_value, slice_table
from registry.models import ModelCard

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
