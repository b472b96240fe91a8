"""Accounts of people who sign in through the identity provider (OpenID Connect).

Every sign-in re-reads the provider's claims: roles and teams follow the provider, so
someone removed from a group there loses the role here at their next sign-in, in the same
transaction as an audit event that lists what changed. Every refusal is audited too."""

from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import audit
from identity.claims import ROLE_GROUPS, roles_from_claims, teams_from_claims, username_from_claims
from identity.models import ExternalIdentity

NO_ROLE = "none of the provider's groups maps to an Attest role"
SERVICE_ACCOUNT = "service accounts cannot sign in"


class SignInRefused(Exception):
    """The provider vouched for the person, but Attest will not let them in."""


@dataclass(frozen=True)
class Membership:
    roles: frozenset[str]
    teams: frozenset[str]

    def as_dict(self) -> dict:
        return {"roles": sorted(self.roles), "teams": sorted(self.teams)}


def _membership(user) -> Membership:
    names = set(user.groups.values_list("name", flat=True))
    return Membership(frozenset(names & ROLE_GROUPS), frozenset(names - ROLE_GROUPS))


def _refuse(*, issuer: str, subject: str, username: str, reason: str, user=None):
    with transaction.atomic():
        audit.record(
            actor=user or f"sso:{username or subject}",
            action="auth.sso_refused",
            target=user,
            after={"issuer": issuer, "subject": subject, "username": username, "reason": reason},
        )
    raise SignInRefused(reason)


def _create_account(*, issuer: str, subject: str, username: str, claims: dict):
    user = get_user_model().objects.create_user(
        username,
        email=str(claims.get("email") or "")[:254],
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )  # no password: this account signs in only through the provider
    link = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    audit.record(
        actor=user,
        action="auth.sso_account_create",
        target=user,
        after={"issuer": issuer, "subject": subject, "username": username},
    )
    return link


def _check_new_account(*, issuer: str, subject: str, username: str, wanted) -> None:
    refuse = partial(_refuse, issuer=issuer, subject=subject, username=username)
    if not wanted.roles and settings.OIDC_REQUIRE_ROLE:
        refuse(reason=NO_ROLE)
    if not username:
        refuse(reason="no username claim")
    if get_user_model().objects.filter(username__iexact=username).exists():
        # Never take over a local account (or another provider's) by a matching name.
        refuse(reason="an account with this username exists and is not linked to this identity")


def _apply_membership(user, wanted: Membership) -> None:
    held = _membership(user)
    add = (wanted.roles - held.roles) | (wanted.teams - held.teams)
    remove = (held.roles - wanted.roles) | (held.teams - wanted.teams)
    for name in sorted(add):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if remove:
        user.groups.remove(*Group.objects.filter(name__in=remove))


def sso_account(*, issuer: str, claims: dict):
    """The account for these verified claims, its roles and teams brought in line with the
    provider; SignInRefused (audited) when it may not sign in."""
    subject = str(claims.get("sub") or "")[:255]
    username = username_from_claims(claims)
    if not subject:
        _refuse(issuer=issuer, subject="", username=username, reason="no subject claim")
    wanted = Membership(frozenset(roles_from_claims(claims)), frozenset(teams_from_claims(claims)))
    links = ExternalIdentity.objects.filter(issuer=issuer, subject=subject)
    if links.filter(user__service_account__isnull=False).exists():
        # A service account acts through API tokens only: a provider identity linked to
        # it (by hand, in the admin) never signs in as it, nor changes its groups.
        _refuse(issuer=issuer, subject=subject, username=username, reason=SERVICE_ACCOUNT)
    if not links.exists():
        _check_new_account(issuer=issuer, subject=subject, username=username, wanted=wanted)
    try:
        with transaction.atomic():
            link = links.select_for_update().select_related("user").first()
            if link is None:
                link = _create_account(
                    issuer=issuer, subject=subject, username=username, claims=claims
                )
            user = link.user
            before = _membership(user)
            if before != wanted:
                _apply_membership(user, wanted)
                audit.record(
                    actor=user,
                    action="auth.sso_roles",
                    target=user,
                    before=before.as_dict(),
                    after=wanted.as_dict(),
                    context={"issuer": issuer},
                )
            link.last_sign_in_at = timezone.now()
            link.save(update_fields=["last_sign_in_at"])
    except IntegrityError:  # a first sign-in racing another, or a name taken meanwhile
        _refuse(issuer=issuer, subject=subject, username=username, reason="try again")
    # Decided after the roles were brought in line, so leaving every group at the provider
    # both removes the roles here and refuses the sign-in.
    refuse = partial(_refuse, issuer=issuer, subject=subject, username=user.username, user=user)
    if not user.is_active:
        refuse(reason="account is deactivated")
    if getattr(user, "service_account", None) is not None:  # linked meanwhile
        refuse(reason=SERVICE_ACCOUNT)
    if not wanted.roles and settings.OIDC_REQUIRE_ROLE:
        refuse(reason=NO_ROLE)
    return user
