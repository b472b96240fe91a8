import json

from django.core.management.base import BaseCommand, CommandError

from governance import signing
from governance.request_context import audit_context


class Command(BaseCommand):
    help = (
        "List the instance's signing keys (current and retired) with their ids and public "
        "keys; --rotate retires the key Attest keeps under var/keys and makes a new one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="as JSON (as the well-known URL)")
        parser.add_argument("--rotate", action="store_true", help="retire the key, make a new one")

    def handle(self, *args, rotate=False, **options):
        json_out = options["json"]
        if rotate:
            self._rotate()
        keys = signing.public_keys()
        if json_out:
            self.stdout.write(json.dumps(signing.published_keys(keys), indent=2))
            return
        for key in keys:
            self.stdout.write(f"{key.key_id}  Ed25519  {key.status}\n{key.pem}")

    def _rotate(self):
        from django.db import transaction

        from governance import audit

        try:
            old_id, new_id = signing.rotate()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        with audit_context(source="command"), transaction.atomic():
            audit.record(
                actor="system:signing_keys",
                action="signing_key.rotate",
                before={"key_id": old_id},
                after={"key_id": new_id},
            )
        self.stdout.write(self.style.SUCCESS(f"Retired key {old_id}; signing with {new_id} now."))
