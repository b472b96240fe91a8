from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.demo import ACCOUNTS, create_demo, demo_needed


class Command(BaseCommand):
    help = "Create demo accounts and models (only on an empty database, only with DEBUG on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is only created with DEBUG on.")
        if not demo_needed():
            self.stdout.write("The database already has users; no demo data was created.")
            return
        passwords = create_demo(self.stdout)
        print_accounts(self.stdout, passwords)


def print_accounts(out, passwords: dict) -> None:
    out.write("\nDemo accounts (shown once; passwords are stored only as hashes):")
    for username, groups, _ in ACCOUNTS:
        password, second_factor = passwords[username]
        out.write(f"  {username:<8} {password:<16} {', '.join(groups[:2])}")
        if second_factor:
            out.write(f"           {second_factor}")
    out.write("")
