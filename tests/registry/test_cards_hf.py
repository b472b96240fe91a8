"""The Hugging Face README.md: export, import, and the round trip between them."""

import math
import re

import pytest
import yaml
from django.core.exceptions import ValidationError

from governance.models import AuditEvent
from registry.cards import (
    PLACEHOLDER,
    SECTION_KEYS,
    SECTIONS,
    CardImportError,
    card_of,
    hf_readme,
    parse_hf_readme,
    split_front_matter,
)
from registry.services.cards import card_import, card_save
from tests.factories import make_version

SECTIONS_TEXT = {
    key: f"**{key}** is described here.\n\n- one point\n- another point" for key in SECTION_KEYS
}
SECTIONS_TEXT["training_data"] = (
    "Transactions 2022-2024 from the EU card network.\n\n"
    "### Labelling\n\nChargebacks confirmed by analysts.\n\n"
    "```python\n# not a heading: inside code\nprint('hi')\n```"
)
SECTIONS_TEXT["quantitative_analyses"] = "Older customers see lower recall; see the table."
METADATA = {
    "developers": "Fraud analytics team",
    "model_type": "Gradient-boosted trees, binary classifier",
    "license": "apache-2.0",
    "base_model": "fraud-detector-base",
    "pipeline_tag": "tabular-classification",
    "tags": ["fraud", "payments", "eu-ai-act"],
    "datasets": ["card-transactions-2024"],
}
METRICS = [
    {"name": "auc", "value": 0.9137, "dataset": ""},
    {"name": "log_loss", "value": 0.2311, "dataset": ""},
    {"name": "auc", "value": 0.8712, "dataset": "age>=65"},
    {"name": "recall", "value": 0.7, "dataset": "age>=65"},
    {"name": "recall", "value": 0.81, "dataset": "age<30"},
]


@pytest.fixture
def documented(scientist, model):
    version = make_version(
        scientist,
        model,
        metrics=METRICS,
        lineage={"framework": "xgboost", "framework_version": "2.1", "run_id": "run-7"},
    )
    card_save(actor=scientist, version=version, sections=SECTIONS_TEXT, metadata=METADATA)
    version.refresh_from_db()
    return version


def validate_model_index(index):
    """The model-index rules the Hub applies (huggingface_hub's model_index_to_eval_results):
    every result has task.type, dataset.type and dataset.name, and metrics with a type and
    a value."""
    assert isinstance(index, list) and index
    for entry in index:
        assert isinstance(entry["name"], str) and entry["name"]
        assert isinstance(entry["results"], list) and entry["results"]
        for result in entry["results"]:
            assert isinstance(result["task"]["type"], str) and result["task"]["type"]
            assert isinstance(result["dataset"]["type"], str) and result["dataset"]["type"]
            assert isinstance(result["dataset"]["name"], str) and result["dataset"]["name"]
            assert result["metrics"]
            for metric in result["metrics"]:
                assert isinstance(metric["type"], str) and metric["type"]
                assert isinstance(metric["value"], int | float)
                assert math.isfinite(metric["value"])


def test_export_has_parseable_front_matter_and_a_valid_model_index(documented):
    text = hf_readme(documented, documented.card)
    assert text.startswith("---\n")
    data, body = split_front_matter(text)
    # The YAML parses with a safe loader on its own too.
    raw = text.split("---\n")[1]
    assert yaml.safe_load(raw) == data
    assert data["license"] == "apache-2.0"
    assert data["tags"] == ["fraud", "payments", "eu-ai-act"]
    assert data["datasets"] == ["card-transactions-2024"]
    assert data["base_model"] == "fraud-detector-base"
    assert data["library_name"] == "xgboost"
    assert data["pipeline_tag"] == "tabular-classification"
    assert data["metrics"] == ["auc", "log_loss", "recall"]
    validate_model_index(data["model-index"])
    [entry] = data["model-index"]
    assert entry["name"] == "fraud-detector"
    by_dataset = {r["dataset"]["name"]: r for r in entry["results"]}
    assert set(by_dataset) == {"overall", "age>=65", "age<30"}
    assert by_dataset["overall"]["task"]["type"] == "tabular-classification"
    assert {(m["type"], m["value"]) for m in by_dataset["overall"]["metrics"]} == {
        ("auc", 0.9137),
        ("log_loss", 0.2311),
    }
    # The card sections, in order, each as a level-2 heading.
    headings = [line[3:] for line in body.split("\n") if line.startswith("## ")]
    assert headings == [s.title for s in SECTIONS]
    assert "- **Developers:** Fraud analytics team" in body
    assert "- **Framework:** xgboost 2.1" in body
    assert "| age>=65 | 0.8712 | 0.7 |" in body  # the slice table, filled from the metrics


def test_round_trip_brings_back_the_same_sections_details_and_metrics(documented):
    parsed = parse_hf_readme(hf_readme(documented, documented.card))
    assert parsed.sections == SECTIONS_TEXT
    assert parsed.metadata == METADATA
    recorded = sorted((m.name, m.dataset, m.value) for m in documented.metrics.all())
    assert sorted((m["name"], m["dataset"], m["value"]) for m in parsed.metrics) == recorded
    assert parsed.unrecognised == [] and parsed.ignored_keys == []


def test_round_trip_through_the_import_service(scientist, documented, model, audit_count):
    exported = hf_readme(documented, documented.card)
    target = make_version(
        scientist,
        model,
        metrics=METRICS,
        lineage={"framework": "xgboost", "framework_version": "2.1"},
    )
    card_save(actor=scientist, version=target, sections={}, metadata={})  # start from nothing
    start = audit_count()
    revision, parsed = card_import(actor=scientist, version=target, text=exported)
    assert audit_count() == start + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == "card.import" and event.context["sections_imported"] == sorted(
        SECTIONS_TEXT
    )
    card = card_of(target)
    assert card.sections == SECTIONS_TEXT and card.metadata == METADATA
    assert revision.source == "import" and revision.note == "Imported from README.md"

    # And exporting the imported card gives the same file, but for the version number.
    def numbered(text):
        return re.sub(r"\bv\d+\b|version \d+", "N", text)

    assert numbered(hf_readme(target, card)) == numbered(exported)


def test_empty_sections_export_the_placeholder_and_import_as_empty(scientist, version):
    card_save(actor=scientist, version=version, sections={"contact": "ml@bank.example"})
    text = hf_readme(version, card_of(version))
    assert text.count(PLACEHOLDER) == len(SECTIONS) - 2  # not contact; metrics have a table
    parsed = parse_hf_readme(text)
    assert parsed.sections == {"contact": "ml@bank.example"}


HF_TEMPLATE = """---
license: mit
language: en
tags:
- text-classification
datasets: imdb
base_model: distilbert-base-uncased
model-index:
- name: distilbert-imdb
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      name: imdb
      type: imdb
      split: test
    metrics:
    - type: accuracy
      value: 0.928
      name: Accuracy
    - type: f1
      value: not a number
---

# Model Card for distilbert-imdb

<!-- Provide a quick summary of what the model is/does. -->

A sentiment classifier.

## Model Details

### Model Description

<!-- Provide a longer summary of what this model is. -->

Fine-tuned DistilBERT.

- **Developed by:** Jane Doe
- **Model type:** Transformer encoder
- **License:** apache-2.0
- **Finetuned from model [optional]:** [More Information Needed]

## Uses

### Direct Use

Classify film reviews.

### Out-of-Scope Use

Medical text.

## Bias, Risks, and Limitations

English only.

### Recommendations

Evaluate on your own data.

## Training Details

### Training Data

IMDB train split.

### Training Procedure

#### Preprocessing [optional]

Lower-cased.

## Evaluation

### Testing Data, Factors & Metrics

#### Testing Data

IMDB test split.

#### Metrics

Accuracy, because the classes are balanced.

### Results

[More Information Needed]

## Environmental Impact

- **Hardware Type:** 1 GPU

## Citation

Please cite us.

## Model Card Contact

jane@example.com
"""


def test_import_of_a_hugging_face_template():
    parsed = parse_hf_readme(HF_TEMPLATE)
    assert parsed.metadata == {
        "developers": "Jane Doe",
        "model_type": "Transformer encoder",
        "license": "mit",  # the front matter wins over the text
        "base_model": "distilbert-base-uncased",
        "tags": ["text-classification"],
        "datasets": ["imdb"],
    }
    s = parsed.sections
    assert s["model_details"] == "Fine-tuned DistilBERT."
    assert s["intended_use"] == "Classify film reviews."
    assert s["out_of_scope"] == "Medical text."
    assert s["risks_limitations"] == "English only."
    assert s["caveats_recommendations"] == "Evaluate on your own data."
    assert s["training_data"] == "IMDB train split.\n\nLower-cased."  # both headings known
    assert s["evaluation_data"] == "IMDB test split."
    assert s["metrics"] == "Accuracy, because the classes are balanced."
    assert s["environmental_impact"] == "- **Hardware Type:** 1 GPU"
    assert s["contact"] == "jane@example.com"
    assert "quantitative_analyses" not in s  # only the placeholder
    assert parsed.metrics == [{"name": "Accuracy", "value": 0.928, "dataset": "imdb"}]
    assert parsed.unrecognised == ["(text before the first section)", "Citation"]
    assert parsed.ignored_keys[0] == "language"
    assert "f1" in parsed.ignored_keys[1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("---\nlicense: [unclosed\n---\n# x\n", "not valid YAML"),
        ("---\n- a list\n---\n", "YAML mapping"),
        ("---\nlicense: mit\n# never closed\n", "never ends"),
        ("---\n!!python/object/apply:os.system ['true']\n---\n", "not valid YAML"),
    ],
)
def test_import_refuses_bad_front_matter(text, message):
    with pytest.raises(CardImportError, match=message):
        parse_hf_readme(text)


def test_import_service_reports_bad_files_as_validation_errors(scientist, version, audit_count):
    with pytest.raises(ValidationError, match="not valid YAML"):
        card_import(actor=scientist, version=version, text="---\na: [\n---\n")
    assert audit_count() == 0


def test_a_readme_without_front_matter_imports_its_sections():
    parsed = parse_hf_readme("## Intended use\n\nScoring.\n\n## Contact\n\nme@example.com\n")
    assert parsed.sections == {"intended_use": "Scoring.", "contact": "me@example.com"}
    assert parsed.metrics == [] and parsed.metadata == {}
