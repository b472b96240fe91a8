"""Annex IV point 2: how the system was developed, validated and secured."""

from governance import selectors
from governance.policy import policy_for, policy_snapshot
from governance.reports.document import Document, Section
from governance.reports.techdoc.common import (
    add_card_text,
    card_fill,
    card_item,
    iso_time,
    scan_result,
)
from registry.cards import slice_table
from registry.models import Stage

# --- 2. Development -------------------------------------------------------------------------


def _development(doc: Document, ctx: dict) -> None:
    version, texts, metadata = ctx["version"], ctx["texts"], ctx["metadata"]
    section = doc.section(
        "development",
        "Elements of the AI system and the process of its development",
        intro="Annex IV point 2: methods, design choices, data, human oversight, validation "
        "and testing, and cybersecurity.",
    )
    methods = section.item(
        "methods",
        "Methods and pre-trained components",
        source="model card details: Model type, Base model; lineage: training run, code",
        fill="Fill the model card's Model type and Base model details, and record the "
        "training run and code commit when uploading the version.",
    )
    methods.fields(
        [
            ("Model type", metadata.get("model_type")),
            ("Pre-trained component (base model)", metadata.get("base_model")),
            ("Training run", _run_reference(version)),
            ("Training run link", version.run_link),
            ("Code repository", version.code_repository),
            ("Code commit", version.code_commit),
            ("Artifact source", version.source),
        ]
    )

    design = section.item(
        "design",
        "Design choices and architecture",
        source="model card: Model details (and its Task and Licence details)",
        fill=card_fill("model_details"),
    )
    add_card_text(design, texts, ["model_details"])
    if design.blocks:  # the details qualify the text; alone they do not describe a design
        design.fields(
            [("Task", metadata.get("pipeline_tag")), ("Licence", metadata.get("license"))]
        )

    training = section.item(
        "training_data",
        "Training data: provenance and preparation",
        source="lineage: dataset_name, dataset_version, dataset_uri, dataset_hash; "
        "model card: Training data",
        fill="Record the training dataset (name, version, URI, hash) when uploading the "
        "version, and fill the model card's Training data section.",
    )
    training.fields(
        [
            ("Dataset", version.dataset_name),
            ("Dataset version", version.dataset_version),
            ("Dataset URI", version.dataset_uri),
            ("Dataset hash", version.dataset_hash),
            ("Datasets named in the model card", ", ".join(metadata.get("datasets", []))),
        ]
    )
    add_card_text(training, texts, ["training_data"])

    card_item(
        section,
        "human_oversight_assessment",
        "Assessment of the human oversight measures",
        texts,
        "human_oversight",
    )

    validation = section.item(
        "validation",
        "Validation and testing: data, metrics and results",
        source="model card: Evaluation data; the version's metrics, overall and per slice",
        fill="Fill the model card's Evaluation data section and record the evaluation "
        "metrics with the version (with a dataset or slice for per-group results).",
    )
    add_card_text(validation, texts, ["evaluation_data"])
    overall = [m for m in ctx["metrics"] if not m.dataset]
    validation.table(
        ["Metric", "Value"], [[m.name, m.value] for m in overall], caption="Overall metrics"
    )
    add_slice_table(validation, ctx["metrics"])

    _cybersecurity(section, ctx)


def add_slice_table(item, metrics) -> None:
    table = slice_table(metrics)
    if table:
        item.table(
            ["Slice", *table.names],
            [[name, *values] for name, values in table.rows],
            caption="Metrics per dataset or slice",
        )


def _cybersecurity(section: Section, ctx: dict) -> None:
    model = ctx["model"]
    item = section.item(
        "cybersecurity",
        "Cybersecurity measures",
        source="the version's artifacts (SHA-256, pickle scan); the model's access grants, "
        "approval policy and protected aliases",
        fill="Upload the model's files with the version so they are hashed and scanned.",
    )
    item.table(
        ["File", "SHA-256", "Pickle scan", "Scanned at"],
        [[a.path, a.sha256, scan_result(a), iso_time(a.scanned_at)] for a in ctx["artifacts"]],
        caption="Artifact integrity: hashed with SHA-256 while streaming; pickle-based "
        "formats are scanned before the version can be promoted",
    )
    holders = selectors.model_access(model)
    counts = []
    for action in ("view", "change", "approve", "manage"):
        users = sum(1 for h in holders["direct"] if action in h.actions)
        groups = sum(1 for h in holders["groups"] if action in h.actions)
        counts.append([action, users, groups])
    item.table(
        ["Permission", "Users granted", "Groups granted"],
        counts,
        caption="Access to this model (per-object grants; no grant, no access)",
    )
    production = policy_snapshot(policy_for(Stage.PRODUCTION, model.risk_class))
    model_aliases = sorted(a.alias for a in selectors.model_aliases(model) if a.protected)
    groups = production.get("required_groups") or []
    item.fields(
        [
            (
                "Approvals needed for Production",
                f"{production['required_approvals']}"
                + (f", including one from each of: {', '.join(groups)}" if groups else ""),
            ),
            ("Four-eyes rule", "nobody decides a request they opened or a version they uploaded"),
            ("Auditors", "read-only by construction: a write grant to an auditor is refused"),
            (
                "Protected aliases on this model",
                ", ".join(f"@{a}" for a in model_aliases) or "none",
            ),
            (
                "Audit trail",
                "every write and download is recorded in an append-only, hash-chained trail",
            ),
        ]
    )


def _run_reference(version) -> str:
    if version.run_external:
        return f"{version.run_id} (a run in another tracking server, as the pipeline gave it)"
    return version.run_id
