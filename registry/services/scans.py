from django.db import transaction
from django.utils import timezone

from core.models import Job
from governance import audit
from registry.models import Artifact


def artifact_scan_record(*, artifact_id: int, status: str, findings: list) -> Artifact | None:
    """Record a scanner verdict on one artifact (by the system, from a worker)."""
    with transaction.atomic():
        artifact = (
            Artifact.objects.select_for_update()
            .select_related("model_version__registered_model")
            .filter(pk=artifact_id)
            .first()
        )
        if artifact is None:
            return None
        if artifact.scan_status == status and artifact.scan_findings == findings:
            return artifact  # idempotent: a retried task records nothing new
        before = {"scan_status": artifact.scan_status, "scan_findings": artifact.scan_findings}
        artifact.scan_status = status
        artifact.scan_findings = findings
        artifact.scanned_at = timezone.now()
        artifact.save(update_fields=["scan_status", "scan_findings", "scanned_at"])
        audit.record(
            actor="system:scanner",
            action="artifact.scan",
            target=artifact,
            before=before,
            after={"scan_status": status, "scan_findings": findings, "sha256": artifact.sha256},
            registered_model_id=artifact.model_version.registered_model_id,
            model_version_id=artifact.model_version_id,
        )
    return artifact


def version_rescan(*, actor, version) -> Job:
    """Queue a fresh scan of every artifact of `version`, whatever its recorded status (a
    file an older scanner called "not a pickle" is read again too). The artifacts keep
    their verdicts until the scan records new ones, each as its own artifact.scan event.
    `actor`: the user, or a label such as "cli:rescan_artifacts"."""
    from core import dispatch
    from registry.services.common import SCAN_VERSION_TASK

    with transaction.atomic():
        job = dispatch.job_queue(
            task=SCAN_VERSION_TASK,
            kind="artifact_scan",
            actor=actor if getattr(actor, "pk", None) else None,
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
            message="Waiting for the scanner (re-scan)",
        )
        Job.objects.filter(pk=job.pk).update(result={"rescan": True})
        audit.record(
            actor=actor,
            action="version.rescan",
            target=version,
            after={"scan_job": job.pk},
            registered_model_id=version.registered_model_id,
            model_version_id=version.pk,
        )
    return job
