"""The model card's sections and metadata fields, and how their text is cleaned."""

import re
from dataclasses import dataclass


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
