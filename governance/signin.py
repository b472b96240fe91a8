"""Sign-in abuse: failed sign-ins kept outside the hash chain and folded in by batch,
lockouts (django-axes) audited once each, the lockout page, and unlocking.

A failed sign-in is an insert into `FailedSignIn`, never an `audit.record()`: the chain's
lock serialises every audited write, so a flood of wrong passwords must not take it once
per attempt. `failed_signins_fold()` turns waiting rows into one `auth.login_failed` event
that lists every attempt (time, username, address, request id) and deletes them in the
same transaction; it runs inline once a batch is full or its oldest row has waited
ATTEST_FAILED_SIGNIN_FOLD_SECONDS, on every successful sign-in, from Celery beat
(`governance.tasks.fold_failed_signins`) and from `manage.py fold_failed_signins`."""

import logging
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Min, Sum
from django.shortcuts import render
from django.utils import timezone

from governance import audit, request_context, signin_gate
from governance.models import AuditEvent, FailedSignIn

log = logging.getLogger(__name__)
# Largest number of attempts listed in one summary event (the rest go in the next one).
FOLD_MAX_ATTEMPTS = 500


def failed_signin_note(*, username: str, client_ip: str | None) -> None:
    """Keep one failed sign-in for the next fold (no chain lock), folding if one is due."""
    ctx = request_context.current()
    FailedSignIn.objects.create(
        username=str(username or "")[:150],
        client_ip=client_ip,
        request_id=ctx.request_id[:128],
        source=ctx.source[:16],
    )
    failed_signins_fold_if_due()


def failed_signins_fold_if_due() -> int:
    pending = FailedSignIn.objects.aggregate(n=Count("id"), oldest=Min("occurred_at"))
    if not pending["n"]:
        return 0
    age = timedelta(seconds=settings.ATTEST_FAILED_SIGNIN_FOLD_SECONDS)
    if pending["n"] >= settings.ATTEST_FAILED_SIGNIN_BATCH or pending["oldest"] <= (
        timezone.now() - age
    ):
        return failed_signins_fold()
    return 0


def failed_signins_fold(*, max_attempts: int = FOLD_MAX_ATTEMPTS) -> int:
    """Fold waiting failed sign-ins into the chain: one event per up to `max_attempts`.
    Returns how many attempts were folded. Safe to run concurrently: rows are locked and
    deleted in the event's transaction, so each attempt is recorded exactly once."""
    folded = 0
    with request_context.audit_context(source="task"):
        while True:
            with transaction.atomic():
                # Rows another fold is taking are skipped, not waited for (PostgreSQL).
                skip = connection.features.has_select_for_update_skip_locked
                pending = FailedSignIn.objects.select_for_update(skip_locked=skip)
                rows = list(pending.order_by("id")[:max_attempts])
                if not rows:
                    break
                usernames, addresses = {}, {}
                for row in rows:
                    usernames[row.username] = usernames.get(row.username, 0) + 1
                    key = row.client_ip or ""
                    addresses[key] = addresses.get(key, 0) + 1
                audit.record(
                    actor=None,
                    action="auth.login_failed",
                    after={
                        "count": len(rows),
                        "first_at": rows[0].occurred_at,
                        "last_at": rows[-1].occurred_at,
                        "by_username": usernames,
                        "by_address": addresses,
                        "attempts": [
                            [r.occurred_at, r.username, r.client_ip, r.request_id, r.source]
                            for r in rows
                        ],
                    },
                    context={"attempt_fields": "occurred_at, username, client_ip, request_id"},
                )
                FailedSignIn.objects.filter(pk__in=[r.pk for r in rows]).delete()
                folded += len(rows)
            if len(rows) < max_attempts:
                break
    return folded


# --- Lockouts ------------------------------------------------------------------------


def _cooloff() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def _failures(**lookup) -> int:
    since = timezone.now() - _cooloff()
    total = AccessAttempt.objects.filter(attempt_time__gte=since, **lookup).aggregate(
        n=Sum("failures_since_start")
    )["n"]
    return total or 0


def lockout_note(*, username: str | None, ip_address: str | None) -> list[AuditEvent]:
    """Record one `auth.lockout` event per locked subject (a username, an address) per
    cool-off period, however many attempts keep arriving while it is locked."""
    events = []
    limit = settings.AXES_FAILURE_LIMIT
    candidates = [("username", str(username or "")[:150]), ("address", ip_address or "")]
    candidates = [(kind, value) for kind, value in candidates if value]
    try:  # already recorded by this process this cool-off: no queries at all
        seen = cache.get_many([f"attest:lockout:{k}:{v}" for k, v in candidates])
    except Exception:  # noqa: BLE001
        seen = {}
    subjects = []
    for kind, value in candidates:
        if f"attest:lockout:{kind}:{value}" in seen:
            continue
        lookup = {"username": value} if kind == "username" else {"ip_address": value}
        if _failures(**lookup) >= limit:
            subjects.append((kind, value))
    for kind, value in subjects:
        key = f"attest:lockout:{kind}:{value}"
        try:
            if not cache.add(key, 1, timeout=int(_cooloff().total_seconds())):
                continue  # this process recorded it already
        except Exception:  # noqa: BLE001 - a cache outage must not stop the audit
            log.warning("cache unavailable while recording a lockout", exc_info=True)
        with transaction.atomic():
            since = timezone.now() - _cooloff()
            # Under the chain lock, so two processes cannot both record the same lockout.
            audit.lock_chain()
            if AuditEvent.objects.filter(
                action="auth.lockout",
                occurred_at__gte=since,
                after__kind=kind,
                after__value=value,
            ).exists():
                continue
            events.append(
                audit.record(
                    actor=None,
                    action="auth.lockout",
                    after={
                        "kind": kind,
                        "value": value,
                        "username": str(username or "")[:150],
                        "failure_limit": limit,
                        "cooloff_minutes": int(_cooloff().total_seconds() // 60),
                    },
                )
            )
    return events


def signin_unlock(*, actor, username: str = "", ip_address: str = "") -> int:
    """Clear the failures that lock `username` and/or `ip_address` (registry admins)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from governance import access

    if actor is not None and not access.is_registry_admin(actor):
        raise PermissionDenied("Only registry admins can unlock sign-in.")
    username, ip_address = (username or "").strip(), (ip_address or "").strip()
    if not username and not ip_address:
        raise ValidationError("Name a username or an address to unlock.")
    with transaction.atomic():
        attempts = AccessAttempt.objects.all()
        if username:
            attempts = attempts.filter(username=username)
        if ip_address:
            attempts = attempts.filter(ip_address=ip_address)
        count, _ = attempts.delete()
        audit.record(
            actor=actor,
            action="auth.unlock",
            after={"username": username, "address": ip_address, "attempt_rows": count},
        )
    for kind, value in (("username", username), ("address", ip_address)):
        if value:
            try:
                cache.delete(f"attest:lockout:{kind}:{value}")
            except Exception:  # noqa: BLE001
                log.warning("cache unavailable while unlocking", exc_info=True)
    signin_gate.lock_mirror_clear(username=username, ip_address=ip_address)
    return count


# --- The page a locked-out client sees -------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again (not a bare 403), saying why and for how long, as 429."""
    minutes = max(1, int(_cooloff().total_seconds() // 60))
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": str(username)[:150]})
    response = render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_out": True,
            "cooloff_minutes": minutes,
            "next": request.POST.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(int(_cooloff().total_seconds()))
    return response
