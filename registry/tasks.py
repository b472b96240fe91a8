"""Background work. Tasks take ids, call services, are idempotent, and record progress
on a Job row. Queued with transaction.on_commit; run in process on the embedded default."""

import logging

from celery import shared_task
from django.conf import settings

from core import dispatch
from core.jobs import job_finish, job_progress, job_start
from core.models import Job
from registry import storage
from registry.models import Artifact
from registry.scanning import mlmodel_pickled_paths, scan_stored_file
from registry.services.scans import artifact_scan_record

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=10)
def scan_version_artifacts(self, job_id: int) -> dict:
    job = job_start(job_id)
    if job is None:
        return {"skipped": "job not found"}
    everything = list(Artifact.objects.filter(model_version_id=job.model_version_id).order_by("pk"))
    named = mlmodel_pickled_paths((a.path, a.storage_name) for a in everything)
    rescan = isinstance(job.result, dict) and job.result.get("rescan")
    artifacts = [
        a
        for a in everything
        if rescan or a.scan_status != Artifact.ScanStatus.NOT_APPLICABLE or a.path in named
    ]
    counts = {"clean": 0, "flagged": 0, "error": 0, "not_applicable": 0}
    for index, artifact in enumerate(artifacts, start=1):
        job_progress(
            job_id,
            percent=int(100 * (index - 1) / max(1, len(artifacts))),
            message=f"Scanning {artifact.path}",
        )
        try:
            status, findings = scan_stored_file(
                artifact.storage_name, artifact.path, expect_pickle=artifact.path in named
            )
        except Exception as exc:
            log.exception("scan of artifact %s failed", artifact.pk)
            status, findings = "error", [{"error": str(exc)[:500]}]
        artifact_scan_record(artifact_id=artifact.pk, status=status, findings=findings)
        counts[status] += 1
    summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    # The job ran: "succeeded" unless a file could not be scanned. What it found is in
    # result, and the badge says "flagged" in red when it found something (registry/_job.html).
    job_finish(
        job_id,
        ok=counts["error"] == 0,
        message=f"Scanned: {summary or 'nothing to scan'}",
        result=counts,
    )
    return counts


@shared_task(bind=True, acks_late=True, max_retries=20)
def purge_storage_prefix(self, job_id: int) -> dict:
    """Remove what a failed upload left in storage; retried with backoff while the
    storage is unreachable (the reason it failed may be the reason it left things)."""
    job = job_start(job_id)
    if job is None:
        return {"skipped": "job not found"}
    prefix = job.result.get("prefix", "")
    try:
        removed = storage.purge_prefix(prefix)
    except Exception as exc:
        if self.request.called_directly or self.request.is_eager:
            job_finish(
                job_id,
                ok=False,
                message=f"Clean-up of {prefix} failed: {exc}"[:500],
                result={"prefix": prefix},
            )
            raise
        job_progress(job_id, percent=0, message="Storage unreachable; retrying the clean-up")
        Job.objects.filter(pk=job_id).update(status=Job.Status.QUEUED)
        raise self.retry(exc=exc, countdown=min(60, 2 + 3 * self.request.retries)) from exc
    job_finish(
        job_id,
        ok=True,
        message=f"Removed {removed} leftover object(s)",
        result={"prefix": prefix, "removed": removed},
    )
    return {"removed": removed}


@shared_task
def dispatch_pending_jobs() -> int:
    """Periodic (Celery beat): send jobs that could not reach the broker when queued."""
    return dispatch.dispatch_pending()


@shared_task
def sweep_uploads() -> dict:
    """Periodic (Celery beat): remove crash leftovers of uploads (registry.services.sweep)."""
    from governance.request_context import audit_context
    from registry.services.sweep import storage_sweep

    if not settings.ATTEST_SWEEP_ENABLED:
        return {"skipped": "SWEEP_ENABLED is off"}
    with audit_context(source="task"):
        result = storage_sweep()
    return {"removed": len(result.removed), "bytes": result.removed_bytes}
