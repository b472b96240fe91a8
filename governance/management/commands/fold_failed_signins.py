from django.core.management.base import BaseCommand

from governance.signin import failed_signins_fold


class Command(BaseCommand):
    help = "Fold waiting failed sign-ins into the audit chain now (one summary event per batch)."

    def handle(self, *args, **opts):
        self.stdout.write(f"Folded {failed_signins_fold()} failed sign-in(s) into the audit chain.")
