"""Reports: asked for, generated in the background, downloaded, expired.

Each step is one audited write: `report.request` when someone asks, `report.ready` (or
`report.fail`) when the worker has stored the file, `report.download` for every download
or in-page view, and `report.expire` when the retention period has passed and the file
is removed. The row itself stays, so the list still says what was made and for whom.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from core import dispatch
from core.jobs import job_finish
from governance import audit, audit_log
from governance.models import Report
from governance.reports import kinds
from governance.reports.scope import ReportScope
from registry import storage

# Queued by name: governance.report_tasks imports this module, so this one must not import it.
GENERATE_REPORT_TASK = "governance.report_tasks.generate_report"


def retention_days(kind: str) -> int:
    if kinds.spec(kind).retention == "documentation":
        return settings.ATTEST_REPORT_RETENTION_DAYS_DOCUMENTATION
    return settings.ATTEST_REPORT_RETENTION_DAYS_LOGS


def _title(kind: str, scope: ReportScope) -> str:
    label = kinds.spec(kind).label
    return f"{label}: {scope.describe()}"[:255]


def _validate(actor, kind: str, fmt: str, scope: ReportScope) -> kinds.KindSpec:
    if kind not in kinds.KINDS:
        raise ValidationError({"kind": "Choose a kind of report."})
    spec = kinds.spec(kind)
    if fmt not in spec.formats:
        offered = ", ".join(kinds.Report.Format(f).label for f in spec.formats)
        raise ValidationError({"format": f"{spec.label} comes as {offered}."})
    if spec.audit_readers_only and not audit_log.can_read_audit_log(actor):
        raise PermissionDenied(f"{spec.label} is for auditors and registry admins.")
    if spec.needs_version and scope.version is None:
        raise ValidationError({"version": f"{spec.label} is about one version: choose it."})
    if scope.period_start and scope.period_end and scope.period_start > scope.period_end:
        raise ValidationError({"period_end": "The period ends before it starts."})
    if kind == Report.Kind.AUDIT_REPORT and not (scope.period_start and scope.period_end):
        raise ValidationError({"period_start": "An audit report covers a period: give both dates."})
    return spec


def report_request(*, actor, kind: str, fmt: str, scope: ReportScope) -> Report:
    """Queue a report. `scope` was resolved under `actor`'s view permission."""
    _validate(actor, kind, fmt, scope)
    model = scope.version.registered_model if scope.version else scope.model
    subject = {
        "registered_model_id": model.pk if model else None,
        "model_version_id": scope.version.pk if scope.version else None,
    }
    with transaction.atomic():
        report = Report.objects.create(
            kind=kind,
            format=fmt,
            title=_title(kind, scope),
            scope=scope.as_json(),
            requested_by=actor,
            requested_by_username=actor.get_username(),
            keep_until=timezone.localdate() + timedelta(days=retention_days(kind)),
            **subject,
        )
        report.job = dispatch.job_queue(
            task=GENERATE_REPORT_TASK,
            kind="report",
            actor=actor,
            message="Waiting for a worker",
            result={"report": report.pk},
            **subject,
        )
        report.save(update_fields=["job"])
        audit.record(
            actor=actor,
            action="report.request",
            target=report,
            after={"kind": kind, "format": fmt, "scope": report.scope},
            **subject,
        )
    return report


def report_filename(report: Report, now) -> str:
    stem = slugify(report.scope.get("model", "")) or "attest"
    if report.scope.get("version"):
        stem += f"-v{report.scope['version']}"
    stem += "-" + report.kind.replace("_", "-")
    return f"{stem}-{now:%Y%m%d-%H%M%S}.{report.format}"


def report_store(report: Report, stream, *, now) -> storage.StoredArtifact:
    """Stream the generated file into storage (local or S3), hashing it on the way."""
    return storage.store_stream(
        stream,
        prefix=f"reports/{now:%Y/%m}/{uuid.uuid4().hex}",
        path=report_filename(report, now),
        content_type=kinds.CONTENT_TYPES[report.format],
        allow_empty=True,
    )


def report_mark_running(report: Report) -> None:
    """Operational state for the list (like a job's progress), not a change of record."""
    Report.objects.filter(pk=report.pk).update(status=Report.Status.RUNNING, message="")


def report_finish(
    *, report: Report, stored: storage.StoredArtifact, digest: str, document: dict | None = None
) -> Report:
    """The file is stored: the row says so, with its document control fields (`document`:
    subject, version, content and section digests; governance/reports/control.py)."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        report.status = Report.Status.READY
        report.storage_name = stored.storage_name
        report.filename = stored.path
        report.size = stored.size
        report.sha256 = stored.sha256
        report.digest = digest
        report.finished_at = timezone.now()
        report.message = ""
        for name, value in (document or {}).items():
            setattr(report, name, value)
        report.save()
        audit.record(
            actor=report.requested_by or report.requested_by_username,
            action="report.ready",
            target=report,
            after={
                "kind": report.kind,
                "format": report.format,
                "scope": report.scope,
                "file": report.filename,
                "size": report.size,
                "sha256": report.sha256,
                "digest": digest,
                "keep_until": report.keep_until,
                "model": report.scope.get("model", ""),
                **(
                    {"document_version": report.document_version} if report.document_version else {}
                ),
            },
            registered_model_id=report.registered_model_id,
            model_version_id=report.model_version_id,
        )
        if report.job_id:
            job_finish(
                report.job_id,
                ok=True,
                message=f"Ready: {storage.human_size(report.size)}",
                result={"report": report.pk},
            )
    return report


def report_fail(*, report: Report, message: str) -> None:
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED, message=message[:500], finished_at=timezone.now()
        )
        audit.record(
            actor=report.requested_by or report.requested_by_username,
            action="report.fail",
            target=report,
            after={"kind": report.kind, "format": report.format, "reason": message[:500]},
            registered_model_id=report.registered_model_id,
            model_version_id=report.model_version_id,
        )
        if report.job_id:
            job_finish(report.job_id, ok=False, message=message, result={"report": report.pk})


def report_download_record(*, actor, report: Report, inline: bool = False) -> None:
    if report.status != Report.Status.READY:
        raise ValidationError("This report has no file to download.")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="report.download",
            target=report,
            after={
                "file": report.filename,
                "sha256": report.sha256,
                "size": report.size,
                "viewed_in_page": inline,
            },
            registered_model_id=report.registered_model_id,
            model_version_id=report.model_version_id,
        )


def report_expire(*, report: Report) -> None:
    """Remove an expired report's file; the row and its audit trail stay."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status != Report.Status.READY:
            return
        name = report.storage_name
        report.status = Report.Status.EXPIRED
        report.storage_name = ""
        report.save(update_fields=["status", "storage_name"])
        audit.record(
            actor="system",
            action="report.expire",
            target=report,
            before={"file": report.filename, "sha256": report.sha256},
            after={"keep_until": report.keep_until},
            registered_model_id=report.registered_model_id,
            model_version_id=report.model_version_id,
        )
        transaction.on_commit(lambda: storage.delete_quietly([name]))
