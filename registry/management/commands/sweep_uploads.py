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

    def handle(self, *args, **options):
        with audit_context(source="cli"):
            result = storage_sweep()
        if options["verbosity"] == 0 and not result.removed:
            return
        hours = settings.ATTEST_SWEEP_GRACE_SECONDS / 3600
        self.stdout.write(
            f"Removed {len(result.removed)} leftover(s), {human_size(result.removed_bytes)}; "
            f"kept {result.kept_referenced} referenced and {result.kept_young} younger than "
            f"{hours:g} h." + ("" if result.complete else " More to look at: run it again.")
        )
        for item in result.removed:
            self.stdout.write(f"  {item['kind']}: {item['name']} ({item['bytes']} bytes)")
