from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from governance import audit, sealing
from governance.models import Webhook


class Command(BaseCommand):
    help = (
        "Seal every webhook signing secret again under the current SECRET_KEY (after moving "
        "the old key to SECRET_KEY_FALLBACKS), so the old key can then be dropped."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            hooks = list(Webhook.objects.select_for_update().only("pk", "secret"))
            try:
                for hook in hooks:
                    hook.secret = sealing.reseal(hook.secret)
            except sealing.SealError as exc:
                raise CommandError(f"Webhook #{hook.pk}: {exc} Nothing was changed.") from None
            Webhook.objects.bulk_update(hooks, ["secret"])
            audit.record(
                actor="reseal_secrets",
                action="webhook.reseal",
                after={"webhooks": len(hooks)},
            )
        self.stdout.write(self.style.SUCCESS(f"Resealed {len(hooks)} webhook secret(s)."))
