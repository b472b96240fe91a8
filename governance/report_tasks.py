"""Report generation and retention, in the background (in process on the embedded default).

`generate_report` builds the report as its requester, at the time it runs: the scope is
resolved again through `restrict()`, so the report holds only what that person may see
then. The file is written to a temporary file (never held whole in memory), streamed into
storage with its SHA-256, and the Report row and its `report.ready` event are written in
one transaction. Run twice (a redelivered task), it does its work once.
"""

import logging
import tempfile

from celery import shared_task
from django.utils import timezone

from core.jobs import job_finish, job_progress, job_start
from governance.models import Report
from governance.reports import control, kinds
from governance.reports.render import render
from governance.reports.scope import ScopeError, resolve
from governance.services.reports import (
    report_expire,
    report_fail,
    report_finish,
    report_mark_running,
    report_store,
)
from registry.storage import ArtifactError, ArtifactStorageError

log = logging.getLogger(__name__)


def _produce(report: Report, user, out, job_id: int, now) -> tuple[str, dict | None]:
    """Write the report's file into `out`; return its content digest and, for documents,
    the document control fields for its row (control.py)."""
    spec = kinds.spec(report.kind)
    scope = resolve(user, report.scope)

    def progress(percent: int, message: str) -> None:
        # Generation takes 5-90% of the bar; storing the file the rest.
        job_progress(job_id, percent=5 + int(percent * 0.85), message=message)

    build = spec.load()
    if spec.writes_file:
        digest = build(
            user=user, scope=scope, fmt=report.format, progress=progress, out=out, now=now
        )
        return digest, None
    document = build(user=user, scope=scope, progress=progress, now=now)
    document.control, fields = control.document_control(
        kind=report.kind,
        doc=document,
        user=user,
        scope=scope,
        model_version_id=report.model_version_id,
        exclude_pk=report.pk,
    )
    job_progress(job_id, percent=90, message=f"Rendering {report.get_format_display()}")
    rendered = render(document, report.format)
    out.write(rendered.content)
    return rendered.digest, fields


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=10)
def generate_report(self, job_id: int) -> dict:
    job = job_start(job_id)
    if job is None:
        return {"skipped": "job not found"}
    report = Report.objects.select_related("requested_by").filter(pk=job.result.get("report"))
    report = report.first()
    if report is None:
        job_finish(job_id, ok=False, message="The report no longer exists")
        return {"skipped": "report not found"}
    if report.is_finished:  # redelivered after it finished: nothing to do
        job_finish(job_id, ok=report.status == Report.Status.READY, message=report.message)
        return {"report": report.pk, "status": report.status}
    user = report.requested_by
    if user is None or not user.is_active:
        report_fail(report=report, message="The account that asked for it is no longer active.")
        return {"report": report.pk, "status": "failed"}
    report_mark_running(report)
    now = timezone.now()
    try:
        with tempfile.TemporaryFile() as out:
            digest, document_fields = _produce(report, user, out, job_id, now)
            out.seek(0)
            job_progress(job_id, percent=95, message="Storing the file")
            stored = report_store(report, out, now=now)
    except ScopeError as exc:
        report_fail(report=report, message=str(exc))
        return {"report": report.pk, "status": "failed"}
    except (ArtifactError, ArtifactStorageError) as exc:
        report_fail(report=report, message=f"Storing the report failed: {exc}")
        return {"report": report.pk, "status": "failed"}
    except Exception as exc:
        log.exception("report %s failed", report.pk)
        report_fail(report=report, message=f"Generating the report failed ({type(exc).__name__}).")
        return {"report": report.pk, "status": "failed"}
    report_finish(report=report, stored=stored, digest=digest, document=document_fields)
    return {"report": report.pk, "status": "ready"}


@shared_task
def expire_reports() -> int:
    """Periodic (Celery beat, hourly): remove files past their keep-until date."""
    today = timezone.localdate()
    expired = Report.objects.filter(status=Report.Status.READY, keep_until__lt=today)
    count = 0
    for report in expired.iterator():
        report_expire(report=report)
        count += 1
    return count
