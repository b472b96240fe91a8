"""Annex IV point 1: the general description of the AI system."""

from governance.reports.document import Document
from governance.reports.techdoc.common import (
    add_card_text,
    card_item,
    card_state,
    file_format,
    iso_time,
    looks_like_library_version,
    stage_label,
    username,
)

# --- 1. General description ---------------------------------------------------------------


def _general_description(doc: Document, ctx: dict) -> None:
    model, version, texts, metadata = ctx["model"], ctx["version"], ctx["texts"], ctx["metadata"]
    section = doc.section(
        "general_description",
        "General description of the AI system",
        intro="Annex IV point 1: intended purpose, provider, version, software and how the "
        "system is placed on the market or put into service.",
    )
    card_item(section, "intended_purpose", "Intended purpose", texts, "intended_purpose")

    provider = section.item(
        "provider",
        "Provider",
        source="model card details: Developers; the model's owning team; model card: Contact",
        fill="Fill the model card's Developers detail and Contact section.",
    )
    provider.fields([("Developers", metadata.get("developers")), ("Owning team", model.team.name)])
    add_card_text(provider, texts, ["contact"], label_each=True)

    versions = ctx["versions"]
    relation = section.item(
        "versions",
        "Version and its relation to earlier versions",
        source="the model's versions (registry), with their model cards",
        fill="Register the version in Attest.",
    )
    earlier = [v for v in versions if v.version < version.version]
    summary = f"{model.name} v{version.version} is version {version.version} of the model"
    if earlier:
        summary += (
            f"; the previous version is v{earlier[-1].version} ({stage_label(earlier[-1].stage)})"
        )
    else:
        summary += "; it has no earlier version"
    card = ctx["card"]
    if card.pk is not None and card.carried_over:
        summary += (
            f". Its model card was carried over from v{card.carried_from_version} "
            "and has not been edited since"
        )
    relation.text(summary + ".")
    relation.table(
        ["Version", "Relation", "Stage", "Created", "Created by", "Model card"],
        [
            [
                v.version,
                "this version"
                if v.pk == version.pk
                else ("earlier" if v.version < version.version else "later"),
                stage_label(v.stage),
                iso_time(v.created_at),
                username(v.created_by),
                card_state(v),
            ]
            for v in versions
        ],
    )

    software = section.item(
        "software",
        "Software and framework versions",
        source="lineage: framework, framework_version; parameters that name library versions",
        fill="Record the framework and its version when uploading the version (lineage), "
        "or log library versions as parameters (e.g. sklearn_version).",
    )
    software.fields(
        [("Framework", version.framework), ("Framework version", version.framework_version)]
    )
    libraries = [
        [p.key, p.value] for p in ctx["params"] if looks_like_library_version(p.key, p.value)
    ]
    software.table(
        ["Parameter", "Version"], libraries, caption="Library versions logged as parameters"
    )

    delivery = section.item(
        "delivery",
        "How the model is delivered",
        source="the version's artifacts and aliases; the MLflow-compatible API",
        fill="Upload the model's files with the version (a version without artifacts cannot "
        "be delivered).",
    )
    artifacts = ctx["artifacts"]
    if artifacts:
        delivery.table(
            ["File", "Format", "Size (bytes)"],
            [[a.path, file_format(a), a.size] for a in artifacts],
            caption="Files of the version",
        )
        aliases = sorted(a.alias for a in version.aliases.all())
        delivery.fields(
            [
                ("Aliases pointing at this version", ", ".join(f"@{a}" for a in aliases)),
                ("Stage", stage_label(version.stage)),
            ]
        )
        uris = [f"models:/{model.name}/{version.version}"]
        uris += [f"models:/{model.name}@{a}" for a in aliases]
        delivery.markdown(
            "Load it with the unmodified `mlflow` client pointed at Attest "
            "(MLFLOW_TRACKING_URI and a personal token):\n\n"
            f'```python\nimport mlflow\n\nmodel = mlflow.pyfunc.load_model("{uris[0]}")\n```\n\n'
            "Model URIs of this version: " + ", ".join(f"`{u}`" for u in uris) + ". "
            "The files can also be downloaded from the version page; every download is "
            "recorded in the audit trail."
        )
