"""Technical documentation of one version, in the order of EU AI Act Annex IV.

Each of Annex IV's nine points is a section; each thing the point asks for is an item,
filled from the record: the model card (registry/cards.py), the version's lineage,
metrics, parameters and artifacts, the approvals and stage changes (transition requests,
decisions and the audit trail) and the uploaded declaration of conformity. An item the
record cannot fill stays in the document with no blocks, so it is printed as missing with
what would fill it; nothing is ever dropped, and the keys below are stable (docs/reports.md
lists them).

Everything listed is read through `restrict(user, 'view')`; the version itself was
resolved under the requester's permissions before the builder was called.
"""

import posixpath
import re

from django.utils import timezone

from governance import selectors
from governance.models import AuditEvent, ComplianceDocument, Decision, TransitionRequest
from governance.policy import policy_for, policy_snapshot
from governance.reports.document import Document, Section
from registry.cards import (
    PLACEHOLDER,
    SECTIONS_BY_KEY,
    card_completeness,
    card_of,
    clean_metadata,
    clean_text,
    slice_table,
)
from registry.models import ModelVersion, RegisteredModel, RiskClass, Stage

KIND = "technical_documentation"
DECLARATION = ComplianceDocument.Kind.DECLARATION_OF_CONFORMITY
STAGE_CHANGE_ACTIONS = ("transition.approve", "version.archive", "version.emergency_rollback")
ACTION_LABELS = {
    "transition.approve": "Approved transition",
    "version.archive": "Archived",
    "version.emergency_rollback": "Emergency rollback",
}
# Parameters that record a library's version: "sklearn_version", "python.version", or a
# value shaped like a release number with at least three parts ("1.26.4", "v2.1.0+cu121").
_VERSION_KEY_RE = re.compile(r"(^|[._-])(version|ver)$", re.IGNORECASE)
_VERSION_VALUE_RE = re.compile(r"^v?\d+\.\d+\.\d+(?:[.+-][0-9A-Za-z.+-]*)?$")
_REMOVED_USER = "a removed user"

# Section and item keys, in order (the lead's docs/reports.md documents them).
LAYOUT = (
    (
        "general_description",
        ("intended_purpose", "provider", "versions", "software", "delivery"),
    ),
    (
        "development",
        (
            "methods",
            "design",
            "training_data",
            "human_oversight_assessment",
            "validation",
            "cybersecurity",
        ),
    ),
    (
        "monitoring",
        (
            "capabilities",
            "limitations",
            "group_performance",
            "foreseeable_risks",
            "oversight_measures",
        ),
    ),
    ("metrics", ("metrics_appropriateness",)),
    ("risk_management", ("risk_class", "risk_management_measures")),
    (
        "lifecycle_changes",
        ("version_history", "transition_requests", "decisions", "stage_changes"),
    ),
    ("standards", ("standards_applied",)),
    ("declaration_of_conformity", ("declaration",)),
    ("post_market_monitoring", ("monitoring_plan",)),
)


# --- Small helpers ----------------------------------------------------------------------


def _when(value):
    """A timestamp as ISO 8601 in the current zone, to the second (None stays None)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _username(user) -> str:
    return user.get_username() if user is not None else _REMOVED_USER


def _card_texts(card) -> dict[str, str]:
    """The card's sections with placeholder lines ("[More Information Needed]") removed."""
    texts = {}
    for key, text in (card.sections or {}).items():
        if key not in SECTIONS_BY_KEY:
            continue
        kept = "\n".join(
            line for line in clean_text(text).split("\n") if line.strip() != PLACEHOLDER
        )
        kept = clean_text(kept)
        if kept:
            texts[key] = kept
    return texts


def _titles(keys) -> list[str]:
    return [SECTIONS_BY_KEY[k].title for k in keys]


def _card_source(*keys) -> str:
    return "model card: " + ", ".join(_titles(keys))


def _card_fill(*keys) -> str:
    titles = _titles(keys)
    if len(titles) == 1:
        return f"Fill the model card's {titles[0]} section."
    return f"Fill the model card's {', '.join(titles[:-1])} and {titles[-1]} sections."


def _add_card_text(item, texts: dict, keys, *, label_each: bool | None = None) -> None:
    """The card sections as markdown blocks; with several, each starts with its title."""
    label_each = len(keys) > 1 if label_each is None else label_each
    for key in keys:
        text = texts.get(key)
        if text:
            item.markdown(f"**{SECTIONS_BY_KEY[key].title}**\n\n{text}" if label_each else text)


def _card_item(section: Section, key: str, title: str, texts: dict, *card_keys):
    item = section.item(key, title, source=_card_source(*card_keys), fill=_card_fill(*card_keys))
    _add_card_text(item, texts, card_keys)
    return item


def _looks_like_library_version(key: str, value: str) -> bool:
    value = (value or "").strip()
    return bool(value) and (
        bool(_VERSION_KEY_RE.search(key)) or bool(_VERSION_VALUE_RE.match(value))
    )


def _file_format(artifact) -> str:
    name = artifact.path.rsplit("/", 1)[-1]
    if name == "MLmodel":
        return "MLflow model descriptor"
    ext = posixpath.splitext(name)[1].lstrip(".").lower()
    return ext or artifact.content_type or "file"


def _scan_result(artifact) -> str:
    findings = len(artifact.scan_findings or [])
    label = artifact.get_scan_status_display()
    return f"{label} ({findings} finding{'' if findings == 1 else 's'})" if findings else label


def _visible_versions(user, model: RegisteredModel):
    """The model's versions, oldest first, if the user may see the model (one restricted
    row, so the query stays on the (registered_model, version) index)."""
    visible = RegisteredModel.objects.restrict(user, "view", few_rows=True).filter(pk=model.pk)
    return (
        ModelVersion.objects.filter(registered_model__in=visible.values("pk"))
        .select_related("created_by", "card")
        .order_by("version")
    )


def _card_state(version) -> str:
    card = card_of(version)
    if card.pk is None:
        return "no card"
    if card.carried_over:
        return f"carried over from v{card.carried_from_version}"
    return f"own card (revision {card.revision_count})"


# --- The builder ------------------------------------------------------------------------


def build(*, user, scope, progress, now) -> Document:
    version = scope.version
    model = version.registered_model
    progress(5, "Reading the version and its model card")
    card = card_of(version)
    texts = _card_texts(card)
    metadata = clean_metadata(card.metadata)
    metrics = list(version.metrics.all())
    params = list(version.params.all())
    artifacts = list(version.artifacts.all())
    completeness = card_completeness(card, metrics)
    versions = list(_visible_versions(user, model))
    declaration = selectors.compliance_documents(user, version, kind=DECLARATION).first()

    doc = Document(
        kind=KIND,
        title=f"Technical documentation: {model.name} v{version.version}",
        subject=f"{model.name} version {version.version}, in the order of EU AI Act Annex IV",
        scope=scope.as_json(),
        generated_by=user.get_username(),
        generated_at=now,
    )
    doc.fact("Model", model.name)
    doc.fact("Version", version.version)
    doc.fact("Stage", version.get_stage_display())
    doc.fact("Risk class", model.get_risk_class_display())
    doc.fact("Owning team", model.team.name)
    doc.fact("Model card completeness", f"{completeness.score}% of the required sections")
    doc.fact("Declaration of conformity", "uploaded" if declaration else "missing")

    ctx = {
        "user": user,
        "model": model,
        "version": version,
        "card": card,
        "texts": texts,
        "metadata": metadata,
        "metrics": metrics,
        "params": params,
        "artifacts": artifacts,
        "versions": versions,
        "declaration": declaration,
    }
    _general_description(doc, ctx)
    progress(25, "General description done; describing the development")
    _development(doc, ctx)
    progress(45, "Development done; monitoring, metrics and risk management")
    _monitoring(doc, ctx)
    _metrics(doc, ctx)
    _risk_management(doc, ctx)
    progress(65, "Reading the approvals and stage changes")
    _lifecycle_changes(doc, ctx)
    progress(85, "Standards, declaration of conformity and post-market monitoring")
    _standards(doc, ctx)
    _declaration(doc, ctx)
    _post_market(doc, ctx)
    progress(95, "Technical documentation assembled")
    return doc


# --- 1. General description ---------------------------------------------------------------


def _general_description(doc: Document, ctx: dict) -> None:
    model, version, texts, metadata = ctx["model"], ctx["version"], ctx["texts"], ctx["metadata"]
    section = doc.section(
        "general_description",
        "General description of the AI system",
        intro="Annex IV point 1: intended purpose, provider, version, software and how the "
        "system is placed on the market or put into service.",
    )
    _card_item(section, "intended_purpose", "Intended purpose", texts, "intended_purpose")

    provider = section.item(
        "provider",
        "Provider",
        source="model card details: Developers; the model's owning team; model card: Contact",
        fill="Fill the model card's Developers detail and Contact section.",
    )
    provider.fields([("Developers", metadata.get("developers")), ("Owning team", model.team.name)])
    _add_card_text(provider, texts, ["contact"], label_each=True)

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
        summary += f"; the previous version is v{earlier[-1].version} ({earlier[-1].stage})"
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
                v.stage,
                _when(v.created_at),
                _username(v.created_by),
                _card_state(v),
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
        [p.key, p.value] for p in ctx["params"] if _looks_like_library_version(p.key, p.value)
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
            [[a.path, _file_format(a), a.size] for a in artifacts],
            caption="Files of the version",
        )
        aliases = sorted(a.alias for a in version.aliases.all())
        delivery.fields(
            [
                ("Aliases pointing at this version", ", ".join(f"@{a}" for a in aliases)),
                ("Stage", version.stage),
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
            ("Training run", version.run_id),
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
        fill=_card_fill("model_details"),
    )
    _add_card_text(design, texts, ["model_details"])
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
    _add_card_text(training, texts, ["training_data"])

    _card_item(
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
    _add_card_text(validation, texts, ["evaluation_data"])
    overall = [m for m in ctx["metrics"] if not m.dataset]
    validation.table(
        ["Metric", "Value"], [[m.name, m.value] for m in overall], caption="Overall metrics"
    )
    _slice_table(validation, ctx["metrics"])

    _cybersecurity(section, ctx)


def _slice_table(item, metrics) -> None:
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
        [[a.path, a.sha256, _scan_result(a), _when(a.scanned_at)] for a in ctx["artifacts"]],
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


# --- 3. Monitoring, functioning and control -------------------------------------------------


def _monitoring(doc: Document, ctx: dict) -> None:
    texts = ctx["texts"]
    section = doc.section(
        "monitoring",
        "Monitoring, functioning and control",
        intro="Annex IV point 3: capabilities and limitations of performance, accuracy for "
        "the groups the system is intended for, foreseeable risks and human oversight.",
    )
    _card_item(section, "capabilities", "Capabilities", texts, "intended_use")
    _card_item(
        section,
        "limitations",
        "Limitations of performance",
        texts,
        "risks_limitations",
        "out_of_scope",
    )
    groups = section.item(
        "group_performance",
        "Accuracy for specific groups",
        source="the version's metrics per slice; model card: Factors, Quantitative analyses",
        fill="Record metrics per group or slice with the version (a metric's dataset) and "
        "fill the model card's Factors section.",
    )
    _slice_table(groups, ctx["metrics"])
    _add_card_text(groups, texts, ["factors", "quantitative_analyses"])
    _card_item(
        section,
        "foreseeable_risks",
        "Foreseeable unintended outcomes and sources of risk",
        texts,
        "risks_limitations",
        "ethical_considerations",
    )
    _card_item(section, "oversight_measures", "Human oversight measures", texts, "human_oversight")


# --- 4. Metrics ---------------------------------------------------------------------------


def _metrics(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "metrics",
        "Appropriateness of the performance metrics",
        intro="Annex IV point 4: why the chosen metrics suit this system.",
    )
    item = _card_item(
        section, "metrics_appropriateness", "Why these metrics", ctx["texts"], "metrics"
    )
    names = sorted({m.name for m in ctx["metrics"]})
    if item.blocks and names:
        item.text("Metrics recorded with this version: " + ", ".join(names) + ".")


# --- 5. Risk management ---------------------------------------------------------------------


def _risk_management(doc: Document, ctx: dict) -> None:
    model = ctx["model"]
    section = doc.section(
        "risk_management",
        "Risk management system",
        intro="Annex IV point 5 and Article 9: the risk class, its rationale, the known and "
        "foreseeable risks and their mitigation.",
    )
    item = section.item(
        "risk_class",
        "Risk class and its rationale",
        source="the model's risk class and the rationale recorded when it was set",
        fill="Set the model's risk class, with its rationale, on the model page (Risk class).",
    )
    if model.risk_class != RiskClass.UNCLASSIFIED:
        event = (
            AuditEvent.objects.filter(registered_model_id=model.pk, action="model.risk_class")
            .order_by("-id")
            .first()
        )
        after = event.after if event is not None and isinstance(event.after, dict) else {}
        item.fields(
            [
                ("Risk class", model.get_risk_class_display()),
                ("Rationale", after.get("rationale")),
                ("Set by", event.actor_username if event else None),
                ("Set at", _when(event.occurred_at) if event else None),
            ]
        )
    _card_item(
        section,
        "risk_management_measures",
        "Known and foreseeable risks and their management",
        ctx["texts"],
        "risk_management",
    )


# --- 6. Changes through the lifecycle ------------------------------------------------------


def _lifecycle_changes(doc: Document, ctx: dict) -> None:
    user, model = ctx["user"], ctx["model"]
    section = doc.section(
        "lifecycle_changes",
        "Changes through the lifecycle",
        intro="Annex IV point 6: every version of the model, every requested and approved "
        "stage change with its approvers, time and reason.",
    )
    history = section.item(
        "version_history",
        "Versions",
        source="the model's versions (registry)",
        fill="Register the version in Attest.",
    )
    history.table(
        ["Version", "Created", "Created by", "Stage now", "Approved for Production", "Description"],
        [
            [
                v.version,
                _when(v.created_at),
                _username(v.created_by),
                v.stage,
                _when(v.production_approved_at),
                (v.description or "").strip().split("\n", 1)[0][:200],
            ]
            for v in ctx["versions"]
        ],
    )

    requests = (
        TransitionRequest.objects.restrict(user, "view", few_rows=True)
        .filter(model_version__registered_model_id=model.pk)
        .select_related("model_version", "requested_by")
        .order_by("created_at", "pk")
    )
    section.item(
        "transition_requests",
        "Stage change requests",
        source="transition requests of the model",
        fill="Nothing to fill: requests are listed as they are opened on the version page.",
    ).table(
        [
            "Request",
            "Version",
            "Target stage",
            "Requested by",
            "Opened",
            "Status",
            "Closed",
            "Justification",
        ],
        [
            [
                r.pk,
                r.model_version.version,
                r.target_stage
                + (" (post-hoc review)" if r.kind == TransitionRequest.Kind.POST_HOC else ""),
                _username(r.requested_by),
                _when(r.created_at),
                r.get_status_display(),
                _when(r.decided_at),
                r.justification,
            ]
            for r in requests
        ],
        empty="No stage change has been requested for this model.",
    )

    decisions = (
        Decision.objects.restrict(user, "view", few_rows=True)
        .filter(request__model_version__registered_model_id=model.pk)
        .select_related("request__model_version")
        .order_by("created_at", "pk")
    )
    section.item(
        "decisions",
        "Approvals and rejections",
        source="decisions on the model's transition requests",
        fill="Nothing to fill: approvers' decisions are listed as they are recorded.",
    ).table(
        [
            "Request",
            "Version",
            "Target stage",
            "Approver",
            "Approver's groups",
            "Decision",
            "Decided at",
            "Reason",
        ],
        [
            [
                d.request_id,
                d.request.model_version.version,
                d.request.target_stage,
                d.approver_username,
                ", ".join(d.approver_groups or []),
                d.get_outcome_display(),
                _when(d.created_at),
                d.reason,
            ]
            for d in decisions
        ],
        empty="No approver has decided on a request of this model.",
    )

    events = AuditEvent.objects.filter(
        registered_model_id=model.pk, action__in=STAGE_CHANGE_ACTIONS
    ).order_by("id")
    rows = [row for row in (_stage_change_row(e) for e in events) if row is not None]
    section.item(
        "stage_changes",
        "Stage changes",
        source="audit trail: transition.approve, version.archive, version.emergency_rollback",
        fill="Nothing to fill: stage changes are listed from the audit trail.",
    ).table(
        ["When", "By", "Change", "Version", "From", "To", "Archived on the way", "Reason"],
        rows,
        empty="No version of this model has changed stage.",
    )


def _stage_change_row(event) -> list | None:
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    who = event.actor_username or "system"
    label = ACTION_LABELS.get(event.action, event.action)
    if event.action == "transition.approve":
        moved = after.get("stage_change") or {}
        if not moved:
            return None  # an approval that did not (yet) complete the policy
        archived = moved.get("archived") or []
        return [
            _when(event.occurred_at),
            who,
            label,
            moved.get("version"),
            moved.get("from"),
            moved.get("to"),
            ", ".join(f"v{n}" for n in archived),
            after.get("reason"),
        ]
    if event.action == "version.archive":
        return [
            _when(event.occurred_at),
            who,
            label,
            after.get("version"),
            before.get("stage"),
            Stage.ARCHIVED.value,
            "",
            after.get("reason"),
        ]
    archived = after.get("archived") or []
    return [
        _when(event.occurred_at),
        who,
        label,
        after.get("production"),
        f"v{before.get('production')} was in Production",
        Stage.PRODUCTION.value,
        ", ".join(f"v{n}" for n in archived),
        after.get("reason"),
    ]


# --- 7-9. Standards, declaration, post-market monitoring ---------------------------------


def _standards(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "standards",
        "Harmonised standards and specifications applied",
        intro="Annex IV point 7: the harmonised standards applied in full or in part, or the "
        "other solutions and specifications used to meet the requirements.",
    )
    _card_item(
        section,
        "standards_applied",
        "Standards and specifications",
        ctx["texts"],
        "standards_applied",
    )


def _declaration(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "declaration_of_conformity",
        "EU declaration of conformity",
        intro="Annex IV point 8: a copy of the EU declaration of conformity (Article 47).",
    )
    item = section.item(
        "declaration",
        "Declaration of conformity",
        source="compliance documents: EU declaration of conformity (newest upload)",
        fill="Upload the signed EU declaration of conformity (PDF) on the version page, in "
        "its Compliance panel.",
    )
    document = ctx["declaration"]
    if document is not None:
        item.fields(
            [
                ("File", document.filename),
                ("SHA-256", document.sha256),
                ("Size (bytes)", document.size),
                ("Uploaded by", document.uploaded_by_username),
                ("Uploaded at", _when(document.uploaded_at)),
            ]
        )
        item.text(
            "The signed PDF is kept in Attest with this hash; download it from the version "
            "page (downloads are recorded in the audit trail)."
        )


def _post_market(doc: Document, ctx: dict) -> None:
    section = doc.section(
        "post_market_monitoring",
        "Post-market monitoring",
        intro="Annex IV point 9 and Article 72: how performance is evaluated once the system "
        "is in use, including the post-market monitoring plan.",
    )
    _card_item(
        section,
        "monitoring_plan",
        "Post-market monitoring plan",
        ctx["texts"],
        "post_market_monitoring",
    )
