"""Model cards: the sections, completeness, the lock, and the Hugging Face README.md format.

The structure follows "Model Cards for Model Reporting" (Mitchell et al., 2019), with the
items regulators ask for added (the EU AI Act's intended purpose, human oversight). Every
section is markdown, rendered through registry.markdown (sanitised by nh3).

This package only reads. Writes are in registry/services/cards.py; the governance gate
("model card complete") calls `version_card_completeness`. Its modules: schema.py (the
sections, metadata fields and text cleaning), completeness.py (required sections,
completeness, a version's card and its lock), slices.py (the per-slice metrics table),
diff.py (section diffs), hf_export.py and hf_import.py (the Hugging Face README.md).
This module re-exports their public names.
"""

from registry.cards.completeness import (
    Completeness,
    card_completeness,
    card_locked,
    card_of,
    check_required_sections,
    completeness_of,
    has_sliced_metrics,
    required_section_keys,
    section_filled,
    version_card_completeness,
)
from registry.cards.diff import DiffLine, SectionDiff, line_diff, sections_diff
from registry.cards.hf_export import (
    DETAIL_LABELS,
    GENERATED_END,
    GENERATED_START,
    OVERALL,
    front_matter,
    hf_readme,
    model_index,
)
from registry.cards.hf_import import (
    ALIASES,
    COMMENT_RE,
    DETAIL_IMPORT,
    DETAIL_LINE_RE,
    FENCE_RE,
    GENERATED_RE,
    HEADING_RE,
    MAX_README_BYTES,
    CardImportError,
    ParsedReadme,
    decode_readme,
    parse_hf_readme,
    split_front_matter,
)
from registry.cards.schema import (
    LICENSE_RE,
    MAX_SECTION_CHARS,
    METADATA_FIELDS,
    METADATA_KEYS,
    PLACEHOLDER,
    SECTION_KEYS,
    SECTIONS,
    SECTIONS_BY_KEY,
    MetadataField,
    Section,
    clean_metadata,
    clean_sections,
    clean_text,
)
from registry.cards.slices import SliceTable, format_value, slice_table

__all__ = [
    "ALIASES",
    "COMMENT_RE",
    "CardImportError",
    "Completeness",
    "DETAIL_IMPORT",
    "DETAIL_LABELS",
    "DETAIL_LINE_RE",
    "DiffLine",
    "FENCE_RE",
    "GENERATED_END",
    "GENERATED_RE",
    "GENERATED_START",
    "HEADING_RE",
    "LICENSE_RE",
    "MAX_README_BYTES",
    "MAX_SECTION_CHARS",
    "METADATA_FIELDS",
    "METADATA_KEYS",
    "MetadataField",
    "OVERALL",
    "PLACEHOLDER",
    "ParsedReadme",
    "SECTIONS",
    "SECTIONS_BY_KEY",
    "SECTION_KEYS",
    "Section",
    "SectionDiff",
    "SliceTable",
    "card_completeness",
    "card_locked",
    "card_of",
    "check_required_sections",
    "clean_metadata",
    "clean_sections",
    "clean_text",
    "completeness_of",
    "decode_readme",
    "format_value",
    "front_matter",
    "has_sliced_metrics",
    "hf_readme",
    "line_diff",
    "model_index",
    "parse_hf_readme",
    "required_section_keys",
    "section_filled",
    "sections_diff",
    "slice_table",
    "split_front_matter",
    "version_card_completeness",
]
