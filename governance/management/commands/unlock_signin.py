from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.request_context import audit_context
from governance.signin import signin_unlock


class Command(BaseCommand):
    help = (
        "Unlock sign-in for a username and/or an address locked after failed attempts "
        "(audited as auth.unlock)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="")
        parser.add_argument("--address", default="", help="Client IP address")

    def handle(self, *args, **opts):
        with audit_context(source="cli"):
            try:
                count = signin_unlock(
                    actor=None, username=opts["username"], ip_address=opts["address"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Unlocked: {count} attempt record(s) cleared.")
