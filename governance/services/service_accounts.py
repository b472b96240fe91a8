"""Service accounts: non-human users a team's pipelines act as, through API tokens only.

Who manages one: the registry admins, and its team's managers (members of the team who
manage at least one of the team's models). They create it, mint and revoke its tokens and
deactivate it; nobody else does, whatever they can do on their own account. The account
has no usable password and no sign-in route accepts it (governance.auth_backends,
identity.services): see docs/deploy.md, "Service accounts"."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from governance import access, audit
from governance.models import PersonalToken, ServiceAccount
from governance.services import tokens
from registry.models import RegisteredModel

USERNAME = re.compile(r"^svc-[a-z0-9][a-z0-9-]{1,60}$")
NOT_MANAGER = "Only the team's managers and registry admins manage its service accounts."


def managed_teams(actor):
    """The teams whose service accounts `actor` manages (every team for registry admins)."""
    teams = Group.objects.exclude(name__in=access.SYSTEM_GROUPS)
    if access.is_registry_admin(actor):
        return teams
    if not actor.is_authenticated or access.is_auditor(actor):
        return teams.none()
    managed = RegisteredModel.objects.restrict(actor, "manage").values("team_id")
    return teams.filter(pk__in=managed, user=actor)


def may_manage(actor, team) -> bool:
    return managed_teams(actor).filter(pk=team.pk).exists()


def _require_manager(actor, team) -> None:
    if not may_manage(actor, team):
        raise PermissionDenied(NOT_MANAGER)


def service_accounts_for(actor):
    """The service accounts `actor` manages."""
    return ServiceAccount.objects.filter(team__in=managed_teams(actor)).select_related(
        "user", "team", "created_by"
    )


def _snapshot(account: ServiceAccount) -> dict:
    return {
        "username": account.user.get_username(),
        "team": account.team.name,
        "description": account.description,
        "active": account.user.is_active,
    }


def service_account_create(*, actor, team, username: str, description: str = ""):
    """A new service account of `team`, with no password and no group: it holds what the
    model managers grant it (grants page), like any other account."""
    _require_manager(actor, team)
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise ValidationError(
            {"username": "Use svc- then lower-case letters, digits and hyphens (3 to 62)."}
        )
    users = get_user_model().objects
    if users.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"An account named {username} exists already."})
    with transaction.atomic():
        user = users.create_user(username)  # no password: create_user makes it unusable
        account = ServiceAccount.objects.create(
            user=user, team=team, description=(description or "").strip()[:200], created_by=actor
        )
        audit.record(
            actor=actor, action="service_account.create", target=user, after=_snapshot(account)
        )
    return account


def service_account_deactivate(*, actor, account: ServiceAccount) -> ServiceAccount:
    """Deactivate the account: its tokens stop working at once (tokens.authenticate)."""
    _require_manager(actor, account.team)
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=account.user_id)
        if not user.is_active:
            raise ValidationError("This service account is already deactivated.")
        before = _snapshot(account)
        user.is_active = False
        user.save(update_fields=["is_active"])
        account.user = user
        audit.record(
            actor=actor,
            action="service_account.deactivate",
            target=user,
            before=before,
            after=_snapshot(account),
        )
    return account


def service_account_token_create(
    *, actor, account: ServiceAccount, name: str, scope: str, expires_at=None
) -> tuple[PersonalToken, str]:
    """A token for the service account, minted by one of its managers; shown once."""
    _require_manager(actor, account.team)
    if not account.user.is_active:
        raise ValidationError("This service account is deactivated.")
    return tokens.issue(
        actor=actor, user=account.user, name=name, scope=scope, expires_at=expires_at
    )


def service_account_token_revoke(*, actor, account: ServiceAccount, token: PersonalToken):
    _require_manager(actor, account.team)
    if token.user_id != account.user_id:
        raise PermissionDenied("This token is not this service account's.")
    return tokens.revoke(actor=actor, token=token)
