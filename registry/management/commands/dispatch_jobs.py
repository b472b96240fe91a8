from django.core.management.base import BaseCommand

from core.dispatch import dispatch_pending
from governance.request_context import audit_context


class Command(BaseCommand):
    help = "Send background jobs that could not reach the broker when they were queued."

    def handle(self, *args, **options):
        with audit_context(source="cli"):
            sent = dispatch_pending(min_age_seconds=0)
        self.stdout.write(f"Sent {sent} pending job(s).")
