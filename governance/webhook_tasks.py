"""Background sending of webhook deliveries, with retries and exponential backoff."""

from celery import shared_task

from governance.models import WebhookDelivery
from governance.services import webhooks


@shared_task(bind=True, acks_late=True)
def deliver_webhook(self, delivery_pk: int) -> dict:
    delivery = webhooks.deliver(delivery_pk)
    if delivery is None:
        return {"skipped": "delivery not found"}
    if delivery.status == WebhookDelivery.Status.RETRYING and not self.request.is_eager:
        # With a broker the retry waits on the queue; in process (no broker) the periodic
        # sweep picks it up when it is due, so a slow endpoint never stalls a request.
        seconds = int(webhooks.backoff(delivery.attempts).total_seconds())
        deliver_webhook.apply_async(args=[delivery_pk], countdown=seconds)
    return {"status": delivery.status, "attempts": delivery.attempts}


@shared_task
def retry_due_webhooks() -> int:
    """Send every delivery whose next attempt is due (after a broker outage, or in process)."""
    count = 0
    for pk in webhooks.due_deliveries().values_list("pk", flat=True)[:500]:
        deliver_webhook.apply_async(args=[pk])
        count += 1
    return count
