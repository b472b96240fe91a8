from django.db import transaction
from django.utils import timezone

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
