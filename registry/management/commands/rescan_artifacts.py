from django.core.management.base import BaseCommand, CommandError

from governance.request_context import audit_context
from registry.models import ModelVersion
from registry.services.scans import version_rescan


class Command(BaseCommand):
    help = (
        "Queue a fresh pickle scan of every artifact of the chosen versions (all versions "
        "with artifacts by default), e.g. after the scanner or the allow-list changed. Each "
        "re-scan is audited (version.rescan, then artifact.scan for each changed verdict)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="only this registered model (by name)")
        parser.add_argument(
            "--status",
            action="append",
            choices=["pending", "clean", "flagged", "error", "not_applicable"],
            help="only versions with an artifact in this scan status (repeatable)",
        )

    def handle(self, *args, model=None, status=None, **options):
        versions = ModelVersion.objects.filter(artifacts__isnull=False)
        if model:
            versions = versions.filter(registered_model__name=model)
            if not versions.exists():
                raise CommandError(f"No model named {model!r} with artifacts.")
        if status:
            versions = versions.filter(artifacts__scan_status__in=status)
        queued = 0
        with audit_context(source="cli"):
            for version in versions.distinct().order_by("pk").iterator():
                version_rescan(actor="cli:rescan_artifacts", version=version)
                queued += 1
        self.stdout.write(f"Queued a re-scan of {queued} version(s).")
