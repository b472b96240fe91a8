from django.core.management.base import BaseCommand

from governance import transparency


class Command(BaseCommand):
    help = "Sign a tree head over the audit log now (Celery beat does it every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="sign even if unchanged")

    def handle(self, *args, force=False, **options):
        head = transparency.tree_head_sign(force=force)
        if head is None:
            head = transparency.latest_tree_head()
            self.stdout.write(f"Unchanged since {head}.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Signed tree head #{head.pk}: {head.tree_size} events, root {head.root_hash}, "
                f"key {head.key_id}."
            )
        )
