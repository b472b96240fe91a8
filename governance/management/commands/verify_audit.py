from django.core.management.base import BaseCommand, CommandError

from governance.audit import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit hash chain; exit non-zero naming the first event that fails."

    def handle(self, *args, **options):
        checked, bad, why = verify_chain()
        if bad is not None:
            when = bad.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
            raise CommandError(
                f"Audit chain broken at event #{bad.pk} ({bad.action}, {when}): {why}. "
                f"{checked} events before it verified."
            )
        if why:
            raise CommandError(f"Audit chain broken after {checked} events: {why}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))
