"""Personal API tokens: create (shown once), revoke, and authenticate a presented token.

Tokens look like `attest_<12 public chars>_<secret>`; only their SHA-256 is stored. The API
accepts them as `Authorization: Bearer <token>` or as the password in Basic auth (what the
mlflow client sends for MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME/PASSWORD)."""

import base64
import binascii
import hashlib
import logging
import math
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import access, audit, request_context
from governance.models import PersonalToken

log = logging.getLogger(__name__)
TOKEN_PREFIX = "attest_"
# last_used_at is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _snapshot(token: PersonalToken) -> dict:
    return {
        "token": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "owner": token.user.get_username(),
        "scope": token.scope,
        "expires_at": token.expires_at,
    }


def token_create(
    *, actor, user=None, name: str, scope: str = PersonalToken.Scope.READ, expires_at=None
) -> tuple[PersonalToken, str]:
    """A new token for `user` (the actor unless an admin issues it). Returns the row and the
    plain token, which is not stored and cannot be shown again."""
    user = user or actor
    if user.pk != getattr(actor, "pk", None) and not access.is_registry_admin(actor):
        raise PermissionDenied("Only registry admins can issue tokens for someone else.")
    return issue(actor=actor, user=user, name=name, scope=scope, expires_at=expires_at)


def issue(*, actor, user, name: str, scope: str, expires_at=None) -> tuple[PersonalToken, str]:
    """A token for `user`, every rule but who may issue it (token_create checks that for
    people; service_accounts.service_account_token_create for service accounts)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name (what uses it)."})
    if len(name) > 100:
        raise ValidationError({"name": "Use at most 100 characters."})
    if scope not in PersonalToken.Scope.values:
        raise ValidationError({"scope": "Choose read-only or read-write."})
    if scope == PersonalToken.Scope.WRITE and access.is_auditor(user):
        # Every route (profile page, admin issuing, create_api_token) comes through here.
        who = user.get_username()
        raise ValidationError(
            {"scope": f"{who} is an auditor: auditors can only hold read-only tokens."}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    public = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = PersonalToken.objects.create(
            user=user,
            name=name,
            prefix=public,
            token_hash=hash_token(raw),
            scope=scope,
            expires_at=expires_at,
        )
        audit.record(actor=actor, action="token.create", target=token, after=_snapshot(token))
    return token, raw


def token_revoke(*, actor, token: PersonalToken) -> PersonalToken:
    if token.user_id != getattr(actor, "pk", None) and not access.is_registry_admin(actor):
        raise PermissionDenied("You can only revoke your own tokens.")
    return revoke(actor=actor, token=token)


def revoke(*, actor, token: PersonalToken) -> PersonalToken:
    """Revoke `token`, every rule but who may (token_revoke, service_accounts)."""
    with transaction.atomic():
        token = PersonalToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if token.revoked_at is not None:
            raise ValidationError("This token is already revoked.")
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            actor=actor,
            action="token.revoke",
            target=token,
            before=_snapshot(token),
            after={"revoked_at": token.revoked_at},
        )
    return token


def tokens_for(user):
    return PersonalToken.objects.filter(user=user).select_related("revoked_by")


def all_tokens(actor):
    if not access.is_registry_admin(actor):
        raise PermissionDenied("Only registry admins see everyone's tokens.")
    return PersonalToken.objects.select_related("user", "revoked_by")


def _user_can_sign_in(user) -> bool:
    if not user.is_active:
        return False
    expiry = getattr(user, "account_expiry", None)
    return not (expiry and expiry.has_expired)


def authenticate(raw: str, *, username: str | None = None) -> PersonalToken | None:
    """The active token `raw` names (and its user), or None. With Basic auth the username
    must be the token owner's."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        PersonalToken.objects.select_related("user", "user__account_expiry")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or token.is_expired or not _user_can_sign_in(token.user):
        return None
    if username and username != token.user.get_username():
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # Bookkeeping, not a change of record: no audit event for it.
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Failed tokens: rate-limited per client address ------------------------------------


class TokenThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed API tokens from this address; retry in {retry_after}s.")
        self.retry_after = retry_after


def _throttle_keys(client_ip: str) -> tuple[str, str]:
    return f"attest:tokenfail:{client_ip}", f"attest:tokenfail-start:{client_ip}"


def token_throttle_check(client_ip: str | None) -> None:
    """Raise TokenThrottled while `client_ip` has used up its failures for the window."""
    if not client_ip:
        return
    count_key, start_key = _throttle_keys(client_ip)
    try:
        values = cache.get_many([count_key, start_key])
    except Exception:  # noqa: BLE001 - a cache outage must not take the API down
        log.warning("cache unavailable: API token throttling skipped", exc_info=True)
        return
    if values.get(count_key, 0) >= settings.ATTEST_API_TOKEN_FAILURE_LIMIT:
        window = settings.ATTEST_API_TOKEN_FAILURE_WINDOW_SECONDS
        started = values.get(start_key) or time.time()
        raise TokenThrottled(max(1, math.ceil(started + window - time.time())))


def token_failure_note(client_ip: str | None) -> None:
    """Count one failed token for `client_ip` in the current window (cache, no database)."""
    if not client_ip:
        return
    count_key, start_key = _throttle_keys(client_ip)
    window = settings.ATTEST_API_TOKEN_FAILURE_WINDOW_SECONDS
    try:
        if cache.add(count_key, 1, timeout=window):
            cache.set(start_key, time.time(), timeout=window)
        else:
            cache.incr(count_key)
    except ValueError:  # expired between add and incr: start a new window
        cache.add(count_key, 1, timeout=window)
        cache.set(start_key, time.time(), timeout=window)
    except Exception:  # noqa: BLE001
        log.warning("cache unavailable: API token failure not counted", exc_info=True)


def token_from_header(header: str) -> tuple[bool, PersonalToken | None]:
    """(credentials were presented, the token they name or None)."""
    if not header:
        return False, None
    kind, _, value = header.partition(" ")
    kind = kind.lower()
    value = value.strip()
    if kind == "bearer":
        return True, authenticate(value)
    if kind == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return True, None
        username, _, password = decoded.partition(":")
        return True, authenticate(password, username=username or None)
    return True, None


def note_token_in_context(token: PersonalToken) -> None:
    """Every audit event of this request names the token used (never the token itself)."""
    request_context.add_context_fact("api_token", f"{token.name} ({token.prefix}…, #{token.pk})")
