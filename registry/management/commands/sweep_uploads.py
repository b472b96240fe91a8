from django.conf import settings
from django.core.management.base import BaseCommand

from governance.request_context import audit_context
from registry.services.sweep import storage_sweep
from registry.storage import human_size


class Command(BaseCommand):
    help = (
        "Remove crash leftovers of uploads: spooled temporary files and stored objects that "
        "no row references, older than ATTEST_SWEEP_GRACE_SECONDS. Safe to run at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be removed; remove and record nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        with audit_context(source="cli"):
            result = storage_sweep(dry_run=dry_run)
        if options["verbosity"] == 0 and not result.removed:
            return
        hours = settings.ATTEST_SWEEP_GRACE_SECONDS / 3600
        self.stdout.write(
            ("Would remove" if dry_run else "Removed")
            + f" {len(result.removed)} leftover(s), {human_size(result.removed_bytes)}; "
            f"kept {result.kept_referenced} referenced and {result.kept_young} younger than "
            f"{hours:g} h." + ("" if result.complete else " More to look at: run it again.")
        )
        for item in result.removed:
            self.stdout.write(f"  {item['kind']}: {item['name']} ({item['bytes']} bytes)")
