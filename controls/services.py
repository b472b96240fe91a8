"""Writes of the controls app, each with its audit event in the same transaction.

- manual evidence for a control of an AI system (an optional uploaded document, an owner, a
  review date), and access reviews; only those who may change the system add them;
- not-applicable decisions (with a reason) and their withdrawal: same right;
- readiness snapshots (the trend): the system's team (change on it) records one;
- model risk management: an independent validation (an approver or Compliance on the model,
  never the model's creator), its findings, and closing a finding.
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from aisystems.models import AISystem
from controls.evaluation import readiness
from controls.models import Control, Finding, ManualEvidence, NotApplicable, Snapshot, Validation
from governance import access, audit
from registry import storage
from registry.models import RegisteredModel

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


def system_for(actor, system_id: int, action: str) -> AISystem:
    system = AISystem.objects.restrict(actor, action).filter(pk=system_id).first()
    if system is None:
        raise PermissionDenied(f"You may not {action} this AI system.")
    return system


def _store(upload, system_id: int) -> dict:
    if upload is None:
        return {}
    try:
        filename = storage.sanitize_path(upload.name or "", keep_dirs=False)
    except storage.ArtifactError as exc:
        raise ValidationError({"document": "That is not a usable file name."}) from exc
    if (getattr(upload, "size", 0) or 0) > MAX_EVIDENCE_BYTES:
        raise ValidationError({"document": f"{filename} is larger than 20 MB."})
    try:
        stored = storage.store_stream(
            upload,
            prefix=f"controls/{system_id}/{uuid.uuid4().hex}",
            path=filename,
            content_type="application/octet-stream",
        )
    except storage.ArtifactError as exc:
        raise ValidationError({"document": str(exc)}) from exc
    return {"filename": filename, "storage_name": stored.storage_name, "sha256": stored.sha256}


def manual_evidence_add(
    *, actor, system: AISystem, control: Control | None, kind: str, data: dict, upload=None
) -> ManualEvidence:
    system = system_for(actor, system.pk, "change")
    if kind not in ManualEvidence.Kind.values:
        raise ValidationError({"kind": "Choose the kind of evidence."})
    if kind == ManualEvidence.Kind.DOCUMENT and control is None:
        raise ValidationError({"control": "Choose the control this evidence is for."})
    if not (data.get("title") or "").strip():
        raise ValidationError({"title": "Say what the evidence is."})
    if data.get("review_on") is None:
        raise ValidationError({"review_on": "Set the date it must be reviewed again."})
    stored = _store(upload, system.pk)
    with transaction.atomic():
        evidence = ManualEvidence.objects.create(
            system=system,
            control=control,
            kind=kind,
            title=data["title"].strip(),
            description=data.get("description", ""),
            owner=data.get("owner") or actor,
            review_on=data["review_on"],
            created_by=actor,
            **stored,
        )
        audit.record(
            actor=actor,
            action="controls.evidence_add",
            target=evidence,
            after={
                "system": system.name,
                "control": str(control) if control else None,
                "kind": kind,
                "title": evidence.title,
                "owner": evidence.owner.get_username() if evidence.owner else None,
                "review_on": evidence.review_on,
                "sha256": stored.get("sha256", ""),
            },
        )
    return evidence


def not_applicable_set(
    *, actor, system: AISystem, control: Control, reason: str, withdraw: bool = False
) -> NotApplicable:
    system = system_for(actor, system.pk, "change")
    reason = (reason or "").strip()
    if not withdraw and not reason:
        raise ValidationError({"reason": "Say why the control does not apply."})
    with transaction.atomic():
        row = NotApplicable.objects.create(
            system=system, control=control, reason=reason, withdrawn=withdraw, decided_by=actor
        )
        audit.record(
            actor=actor,
            action="controls.applicability_withdraw" if withdraw else "controls.not_applicable",
            target=row,
            after={"system": system.name, "control": str(control), "reason": reason},
        )
    return row


def snapshot_take(*, actor, system: AISystem, framework) -> Snapshot:
    system = system_for(actor, system.pk, "change")
    result = readiness(system, framework)
    with transaction.atomic():
        snap = Snapshot.objects.create(
            system=system,
            framework=framework,
            counts=result.counts,
            statuses={r.control.ref: r.status for r in result.results},
        )
        audit.record(
            actor=actor,
            action="controls.snapshot",
            target=snap,
            after={"system": system.name, "framework": framework.key, "counts": result.counts},
        )
    return snap


def _model_for(actor, model: RegisteredModel, action: str) -> RegisteredModel:
    model = RegisteredModel.objects.get(pk=model.pk)
    access.require(actor, model, action)
    return model


def validation_record(*, actor, model: RegisteredModel, validated_on, summary: str) -> Validation:
    """An independent validation: recorded by someone who may approve the model and did not
    create it (SR 11-7: validation independent of development)."""
    model = _model_for(actor, model, "approve")
    if not (summary or "").strip():
        raise ValidationError({"summary": "Summarise the validation's conclusion."})
    if validated_on > timezone.localdate():
        raise ValidationError({"validated_on": "A validation cannot be dated in the future."})
    independent = model.created_by_id != actor.pk
    if not independent:
        raise ValidationError("You created this model: its validation must be independent.")
    with transaction.atomic():
        validation = Validation.objects.create(
            registered_model=model,
            validated_on=validated_on,
            validator=actor,
            validator_username=actor.get_username(),
            independent=independent,
            summary=summary.strip(),
        )
        audit.record(
            actor=actor,
            action="controls.validation",
            target=validation,
            after={"model": model.name, "validated_on": validated_on, "summary": summary},
            registered_model_id=model.pk,
        )
    return validation


def finding_add(
    *, actor, model: RegisteredModel, data: dict, validation: Validation | None = None
) -> Finding:
    model = _model_for(actor, model, "approve")
    if data.get("severity") not in Finding.Severity.values:
        raise ValidationError({"severity": "Choose a severity."})
    if not (data.get("title") or "").strip():
        raise ValidationError({"title": "Describe the finding."})
    if data.get("remediate_by") is None:
        raise ValidationError({"remediate_by": "Set the remediation date."})
    with transaction.atomic():
        finding = Finding.objects.create(
            registered_model=model,
            validation=validation,
            title=data["title"].strip(),
            severity=data["severity"],
            owner=data.get("owner") or actor,
            remediate_by=data["remediate_by"],
        )
        audit.record(
            actor=actor,
            action="controls.finding_add",
            target=finding,
            after={
                "model": model.name,
                "title": finding.title,
                "severity": finding.severity,
                "owner": finding.owner.get_username() if finding.owner else None,
                "remediate_by": finding.remediate_by,
            },
            registered_model_id=model.pk,
        )
    return finding


def finding_close(*, actor, finding: Finding, note: str) -> Finding:
    """Closing a finding is a validator's call (approve on the model), with a note."""
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        model = _model_for(actor, finding.registered_model, "approve")
        if finding.status == Finding.Status.CLOSED:
            raise ValidationError("The finding is already closed.")
        if not (note or "").strip():
            raise ValidationError({"note": "Say how the finding was remediated."})
        finding.status = Finding.Status.CLOSED
        finding.closed_at = timezone.now()
        finding.save(update_fields=["status", "closed_at"])
        audit.record(
            actor=actor,
            action="controls.finding_close",
            target=finding,
            before={"status": "open"},
            after={"status": "closed", "note": note.strip()},
            registered_model_id=model.pk,
        )
    return finding
