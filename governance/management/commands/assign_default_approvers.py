from django.core.management.base import BaseCommand, CommandError

from governance.request_context import audit_context
from governance.services.grants import default_approvers_assign, default_approvers_missing
from registry.models import RegisteredModel
from registry.services.models import default_approver_groups


class Command(BaseCommand):
    help = (
        "Grant approve to the default approver groups (ATTEST_DEFAULT_APPROVER_GROUPS) on every "
        "existing model that lacks it, as new models get it; audited, safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only list what would be granted"
        )

    def handle(self, *args, **opts):
        groups = default_approver_groups()
        if not groups:
            raise CommandError("ATTEST_DEFAULT_APPROVER_GROUPS names no existing group.")
        total = 0
        with audit_context(source="cli"):
            for model in RegisteredModel.objects.order_by("name").iterator():
                if opts["dry_run"]:
                    names = [g.name for g in default_approvers_missing(model, groups)]
                else:
                    names = default_approvers_assign(registered_model=model, groups=groups)
                if names:
                    total += len(names)
                    self.stdout.write(f"{model.name}: approve to {', '.join(names)}")
        verb = "would grant" if opts["dry_run"] else "granted"
        self.stdout.write(f"{total} grant(s) {verb}.")
