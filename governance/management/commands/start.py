from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from governance.demo import create_demo, demo_needed
from governance.management.commands.seed_demo import print_accounts


class Command(BaseCommand):
    help = "Migrate, add demo data on a first DEBUG start, and serve Attest on 127.0.0.1:8000."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        # Leftovers of uploads a crash or kill cut short (there is no beat on this stack).
        if settings.ATTEST_SWEEP_ENABLED:
            try:
                call_command("sweep_uploads", verbosity=0, stdout=self.stdout)
            except Exception as exc:  # noqa: BLE001 - never keep the server from starting
                self.stderr.write(f"The upload sweep failed ({exc}); it runs at the next start.")
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        passwords = None
        if demo_needed():
            if settings.DEBUG:
                self.stdout.write("First start: creating demo accounts and models…")
                passwords = create_demo(self.stdout)
            else:
                self.stdout.write(
                    "No users yet. DEBUG is off, so no demo accounts are made: "
                    "create one with `python manage.py createsuperuser`."
                )
        if passwords:
            print_accounts(self.stdout, passwords)
        self.stdout.write(f"Attest is starting on http://{addrport}/ (Ctrl-C stops it).")
        call_command("runserver", addrport, use_reloader=False)
