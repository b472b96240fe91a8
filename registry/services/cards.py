"""Writes to model cards. Each function is atomic and records one audit event; the card a
new version starts with is written inside version_create's own transaction and event."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access, audit
from registry.cards import (
    LICENSE_RE,
    MAX_SECTION_CHARS,
    SECTIONS_BY_KEY,
    CardImportError,
    ParsedReadme,
    card_completeness,
    card_locked,
    clean_metadata,
    clean_sections,
    parse_hf_readme,
)
from registry.models import ModelCard, ModelCardRevision, ModelVersion

Source = ModelCardRevision.Source


class CardLocked(PermissionDenied):
    """The version was approved for Production: its card is the record and stays as is."""


def card_edit_check(*, actor, version: ModelVersion) -> None:
    """Raise what saving or importing `version`'s card would raise before reading the
    input: PermissionDenied without change permission, CardLocked once the version was
    approved for Production. The edit and import pages ask this before showing a form;
    the writes ask it again under the version's row lock."""
    access.require(actor, version.registered_model, "change")
    _refuse_if_locked(version)


def _refuse_if_locked(version: ModelVersion) -> None:
    if card_locked(version):
        raise CardLocked(
            f"The model card of version {version.version} is locked: the version was "
            "approved for Production. Upload a new version to change the card."
        )


def _author_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else ""


def card_start_for_version(*, actor, version: ModelVersion) -> dict:
    """Give a new version its card: the previous version's current card, marked as carried
    over until someone edits it, or an empty one. Called by version_create inside its
    transaction; what happened goes into that write's audit event (returned here)."""
    previous = (
        ModelCard.objects.filter(
            model_version__registered_model_id=version.registered_model_id,
            model_version__version__lt=version.version,
        )
        .select_related("model_version")
        .order_by("-model_version__version")
        .first()
    )
    carried = previous is not None and bool(previous.sections or previous.metadata)
    card = ModelCard.objects.create(
        model_version=version,
        sections=dict(previous.sections) if carried else {},
        metadata=dict(previous.metadata) if carried else {},
        carried_over=carried,
        carried_from_version=previous.model_version.version if carried else None,
        revision_count=1,
        updated_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    ModelCardRevision.objects.create(
        card=card,
        number=1,
        sections=card.sections,
        metadata=card.metadata,
        source=Source.CARRIED_OVER if carried else Source.CREATED,
        note=f"Carried over from version {card.carried_from_version}" if carried else "",
        author=card.updated_by,
        author_username=_author_name(actor),
    )
    return {
        "carried_over_from": card.carried_from_version,
        "sections": sorted(card.sections),
    }


def _validate(sections: dict, metadata: dict) -> None:
    errors: dict[str, list[str]] = {}
    for key, text in sections.items():
        if len(text) > MAX_SECTION_CHARS:
            errors.setdefault(key, []).append(
                f"{SECTIONS_BY_KEY[key].title} is limited to {MAX_SECTION_CHARS:,} characters."
            )
    license_id = metadata.get("license", "")
    if license_id and not LICENSE_RE.match(license_id):
        errors["license"] = [
            "Use a licence identifier in lower case, such as apache-2.0, mit or other."
        ]
    for key in ("developers", "model_type", "base_model", "pipeline_tag"):
        if len(metadata.get(key, "")) > 500:
            errors.setdefault(key, []).append("Keep this under 500 characters.")
    for key in ("tags", "datasets"):
        if len(metadata.get(key, [])) > 50:
            errors.setdefault(key, []).append("List at most 50.")
    if errors:
        raise ValidationError(errors)


def _changed(old: dict, new: dict) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _save(
    *,
    actor,
    version: ModelVersion,
    sections: dict,
    metadata: dict | None,
    expected_revision: int | None,
    source: str,
    note: str,
    action: str,
    context: dict | None = None,
) -> ModelCardRevision | None:
    access.require(actor, version.registered_model, "change")
    sections = clean_sections(sections)
    with transaction.atomic():
        # Lock the version row: an approval to Production (which locks the card) and an
        # edit cannot interleave.
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        _refuse_if_locked(locked)
        card = ModelCard.objects.select_for_update().filter(model_version=locked).first()
        if card is None:
            card = ModelCard.objects.create(model_version=locked)
        metadata = clean_metadata(card.metadata if metadata is None else metadata)
        _validate(sections, metadata)
        if expected_revision is not None and card.revision_count != expected_revision:
            raise ValidationError(
                f"Someone saved this card (revision {card.revision_count}) after you opened "
                f"it (revision {expected_revision}). Your text is kept below: compare it with "
                "the latest revision and save again.",
                code="conflict",
            )
        changed_sections = _changed(card.sections, sections)
        changed_metadata = _changed(card.metadata, metadata)
        if not changed_sections and not changed_metadata and not card.carried_over:
            return None  # nothing to record
        before = {
            "revision": card.revision_count,
            "carried_over": card.carried_over,
            "sections": {k: card.sections.get(k, "") for k in changed_sections},
            "metadata": {k: card.metadata.get(k) for k in changed_metadata},
        }
        card.sections = sections
        card.metadata = metadata
        card.carried_over = False
        card.revision_count += 1
        card.updated_by = actor
        card.save()
        version.card = card  # the caller's object sees the saved card
        revision = ModelCardRevision.objects.create(
            card=card,
            number=card.revision_count,
            sections=sections,
            metadata=metadata,
            source=source,
            note=note[:500],
            author=actor,
            author_username=_author_name(actor),
        )
        completeness = card_completeness(card, locked.metrics.all())
        audit.record(
            actor=actor,
            action=action,
            target=card,
            before=before,
            after={
                "model": version.registered_model.name,
                "version": locked.version,
                "revision": revision.number,
                "source": source,
                "carried_over": False,
                "sections": {k: sections.get(k, "") for k in changed_sections},
                "metadata": {k: metadata.get(k) for k in changed_metadata},
                "completeness": {
                    "score": completeness.score,
                    "missing": [s.key for s in completeness.missing],
                },
            },
            registered_model_id=locked.registered_model_id,
            model_version_id=locked.pk,
            context=context,
        )
    return revision


def card_save(
    *,
    actor,
    version: ModelVersion,
    sections: dict,
    metadata: dict | None = None,
    expected_revision: int | None = None,
    note: str = "",
) -> ModelCardRevision | None:
    """Save the card's sections (and details) as a new revision. Returns None if nothing
    changed. Refuses a locked card (CardLocked, a 403) and, given `expected_revision`, a
    card someone else saved in the meantime (ValidationError, code "conflict")."""
    return _save(
        actor=actor,
        version=version,
        sections=sections,
        metadata=metadata,
        expected_revision=expected_revision,
        source=Source.EDIT,
        note=note,
        action="card.save",
    )


def card_import(
    *, actor, version: ModelVersion, text: str, filename: str = "README.md"
) -> tuple[ModelCardRevision | None, ParsedReadme]:
    """Prefill the card from a Hugging Face README.md: the sections it recognises replace
    the card's, the front matter fills the details; everything else stays. The version's
    metrics are never changed by an import (they are part of its immutable record)."""
    access.require(actor, version.registered_model, "change")
    try:
        parsed = parse_hf_readme(text)
    except CardImportError as exc:
        raise ValidationError(str(exc), code="invalid_readme") from exc
    current = ModelCard.objects.filter(model_version=version).first()
    sections = dict(current.sections if current else {})
    sections.update(parsed.sections)
    metadata = dict(current.metadata if current else {})
    metadata.update({k: v for k, v in parsed.metadata.items() if v})
    revision = _save(
        actor=actor,
        version=version,
        sections=sections,
        metadata=metadata,
        expected_revision=None,
        source=Source.IMPORT,
        note=f"Imported from {filename}"[:500],
        action="card.import",
        context={
            "file": filename[:200],
            "sections_imported": sorted(parsed.sections),
            "not_imported": parsed.unrecognised + parsed.ignored_keys,
        },
    )
    return revision, parsed
