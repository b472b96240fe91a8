from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from governance.models import PersonalToken
from governance.request_context import audit_context
from governance.services.tokens import token_create


class Command(BaseCommand):
    help = "Create a personal API token for USERNAME and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for")
        parser.add_argument(
            "--read-only", action="store_true", help="Read-only token (default: read-write)"
        )
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user named {opts['username']!r}.")
        expires = (
            timezone.now() + timedelta(days=opts["expires_days"]) if opts["expires_days"] else None
        )
        scope = PersonalToken.Scope.READ if opts["read_only"] else PersonalToken.Scope.WRITE
        with audit_context(source="cli"):
            try:
                _token, raw = token_create(
                    actor=user, name=opts["name"], scope=scope, expires_at=expires
                )
            except ValidationError as exc:
                hint = " Use --read-only." if scope == PersonalToken.Scope.WRITE else ""
                raise CommandError("; ".join(exc.messages) + hint) from exc
        self.stdout.write(raw)
