"""Governance background work: notifications, sent after commit by a worker."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from core.jobs import job_finish, job_start
from governance.models import TransitionRequest


def eligible_approvers(request: TransitionRequest) -> list:
    """Who is told about a new request: those who could decide it (selectors.
    possible_deciders: approvers holding approve on the model, not its requester or
    uploader), if they have an address."""
    from governance.selectors import possible_deciders

    return [u for u in possible_deciders(request) if u.email]


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def notify_transition(self, job_id: int) -> dict:
    job = job_start(job_id)
    if job is None:
        return {"skipped": "job not found"}
    request = (
        TransitionRequest.objects.select_related("model_version__registered_model", "requested_by")
        .filter(pk=job.result.get("request"))
        .first()
    )
    if request is None:
        job_finish(job_id, ok=True, message="The request no longer exists")
        return {"sent": 0}
    version = request.model_version
    subject_line = f"{version.registered_model.name} v{version.version} → {request.target_stage}"
    link = f"{settings.ATTEST_BASE_URL.rstrip('/')}{request.get_absolute_url()}"
    if job.result.get("event") == "opened":
        recipients = [u.email for u in eligible_approvers(request)]
        subject = f"[Attest] Approval needed: {subject_line}"
        body = (
            f"{request.requested_by} asks to move {subject_line}.\n\n"
            f"Justification: {request.justification}\n\nDecide: {link}\n"
        )
    else:
        requester = request.requested_by
        recipients = [requester.email] if requester and requester.email else []
        subject = f"[Attest] {request.get_status_display()}: {subject_line}"
        body = f"Your request was {request.get_status_display().lower()}.\n\nDetails: {link}\n"
    if recipients:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    job_finish(
        job_id,
        ok=True,
        message=f"Sent to {len(recipients)} recipient(s)",
        result=job.result | {"recipients": len(recipients)},
    )
    return {"sent": len(recipients)}


@shared_task(acks_late=True)
def fold_failed_signins() -> dict:
    """Celery beat, every ATTEST_FAILED_SIGNIN_FOLD_SECONDS: failed sign-ins into the chain."""
    from governance.signin import failed_signins_fold

    return {"folded": failed_signins_fold()}


@shared_task(acks_late=True)
def access_review_tick() -> dict:
    """Celery beat, daily: open the periodic access review when due, queue reminders."""
    from governance.services.access_reviews import review_tick

    review = review_tick()
    return {"opened": review.pk if review else None}


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def access_review_remind(self, job_id: int) -> dict:
    """E-mail everyone with a pending item of the review (overdue ones say so)."""
    from governance.models import AccessReview
    from governance.services.access_reviews import reviewers_of_pending

    job = job_start(job_id)
    if job is None:
        return {"skipped": "job not found"}
    review = AccessReview.objects.filter(pk=job.result.get("review")).first()
    if review is None or review.closed_at:
        job_finish(job_id, ok=True, message="The review is closed")
        return {"sent": 0}
    recipients = [u.email for u in reviewers_of_pending(review)]
    link = f"{settings.ATTEST_BASE_URL.rstrip('/')}{review.get_absolute_url()}"
    overdue = review.status == "overdue"
    subject = f"[Attest] Access review {'overdue' if overdue else 'waiting'}: {review}"
    body = (
        f"Some access you can revoke waits for your review (due {review.due_at:%Y-%m-%d}"
        f"{', now overdue' if overdue else ''}).\n\nConfirm or revoke: {link}\n"
    )
    for address in recipients:  # one mail each: reviewers do not see each other
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    job_finish(job_id, ok=True, message=f"Sent to {len(recipients)} recipient(s)")
    return {"sent": len(recipients)}
