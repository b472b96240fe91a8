"""Reading a Hugging Face README.md into card sections, metadata and metrics (untrusted input:
size-limited, safe YAML).
"""

import math
import re
from dataclasses import dataclass

import yaml

from registry import safe_yaml
from registry.cards.hf_export import GENERATED_END, GENERATED_START, OVERALL
from registry.cards.schema import PLACEHOLDER, SECTIONS, clean_metadata, clean_sections, clean_text

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


# A heading (normalised) to the section it means: each section's aliases and its title.
ALIASES = {
    _normalise_heading(alias): s.key for s in SECTIONS for alias in (s.aliases + (s.title.lower(),))
}


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
