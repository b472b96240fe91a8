"""Job bookkeeping: progress of background work for the UI to poll.

These rows are operational (percent done, a status line); they are not audited. The
work a job does is: each result it writes goes through an audited service.
"""

from django.db.models import F
from django.utils import timezone

from core.models import Job


def job_start(job_id: int):
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        progress=0,
    )
    return Job.objects.filter(pk=job_id).first()


def job_progress(job_id: int, *, percent: int, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(progress=max(0, min(100, percent)), message=message[:500])


def job_finish(job_id: int, *, ok: bool, message: str = "", result: dict | None = None) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.SUCCEEDED if ok else Job.Status.FAILED,
        progress=100 if ok else F("progress"),
        message=message[:500],
        result=result or {},
        finished_at=timezone.now(),
    )
