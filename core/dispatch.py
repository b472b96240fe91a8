"""Handing jobs to the broker: an outbox on the Job table.

A job row is written in the transaction of the write that needs it, and sent after
commit. If the broker is unreachable then, the write still succeeds, the job keeps a
message saying so, and `dispatch_pending()` (Celery beat every minute, or the
`dispatch_jobs` command) sends it once the broker is back. Tasks are idempotent, so a job
sent twice does its work once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import Job

log = logging.getLogger(__name__)
BROKER_DOWN_MESSAGE = (
    "The task queue is unreachable right now; this will start automatically when it is back."
)


def task_by_name(name: str):
    """The registered Celery task called `name`: lets a service queue a task whose module
    imports that service, without importing it back."""
    from config.celery import app

    return app.tasks[name]


def job_queue(*, task, kind: str, actor=None, message: str = "", **subject):
    """Create a job for `task` (a Celery task, or its registered name) and send it when the
    current transaction commits; a name lets a service queue a task it does not import."""
    job = Job.objects.create(
        kind=kind,
        task_name=task if isinstance(task, str) else task.name,
        created_by=actor if actor and actor.pk else None,
        message=message,
        **subject,
    )
    transaction.on_commit(lambda: send(job.pk))
    return job


def send(job_id: int) -> bool:
    """Publish one queued job; on a broker failure leave it queued for a later attempt."""
    job = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).first()
    if job is None or not job.task_name:
        return False
    try:
        task_by_name(job.task_name).apply_async(
            args=[job.pk], retry=True, retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY
        )
    except Exception as exc:  # kombu raises OperationalError and friends; never fail the write
        log.warning("could not queue job %s (%s): %s", job_id, job.task_name, exc)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(message=BROKER_DOWN_MESSAGE)
        return False
    Job.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
    return True


def dispatch_pending(*, min_age_seconds: int = 10) -> int:
    """Send jobs that never reached the broker, or whose message was lost with it."""
    now = timezone.now()
    lost_after = timedelta(
        seconds=2 * settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    )
    pending = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(dispatched_at__isnull=True, created_at__lte=now - timedelta(seconds=min_age_seconds))
        | Q(dispatched_at__lte=now - lost_after)
    )
    return sum(send(job_id) for job_id in pending.values_list("pk", flat=True)[:500])
