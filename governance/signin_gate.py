"""The sign-in gate: a locked-out sign-in is refused before sessions, CSRF, authentication,
the database or a template are touched.

django-axes stays the source of truth (its `AccessAttempt` rows and its check in
`ThrottledSignInBackend`). When axes locks a username or an address (its `user_locked_out`
signal), `lock_mirror()` works out until when, from axes' own rows, and writes that time
into the cache under the subject's key. `SignInGateMiddleware` (placed right after the
request context, before sessions) answers a POST to the sign-in pages with one
`cache.get_many()` over the address's and the posted username's keys: a live entry gets the
pre-rendered lockout page (429, `Retry-After`, CSP), with no query and no render.

Across processes: with Redis every worker shares the entries, and an unlock clears them for
all. With the per-process LocMem cache (embedded default), each process learns a lock the
first time an attempt reaches axes there (axes refuses it from the database, so nothing is
let through), and an unlock touches `VAR_DIR/signin-unlocked`: an entry written before that
file's time is ignored, so every process lets the next attempt through to axes again."""

import contextlib
import hashlib
import html
import logging
import math
import os
import time
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

log = logging.getLogger(__name__)

_USERNAME_MARK = "attestgateusername7f3a"
_NEXT_MARK = "attestgatenext7f3a"
_CSRF_MARK = "attestgatecsrf7f3a"
_MINUTES = 987654321  # rendered as "987654321 minutes", replaced by the minutes left
_MINUTES_MARK = f"{_MINUTES} minutes"
_page: str | None = None
_paths: frozenset | None = None


def _now() -> float:
    return time.time()


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"attest:signin-locked:{kind}:{digest}"


def _unlock_stamp_path() -> Path:
    return Path(settings.VAR_DIR) / "signin-unlocked"


def _unlocked_at() -> float:
    try:
        return os.stat(_unlock_stamp_path()).st_mtime
    except OSError:
        return 0.0


def normalize_username(value: str) -> str:
    """As Django's AuthenticationForm cleans it (stripped, NFKC), which is what axes keys."""
    return unicodedata.normalize("NFKC", str(value or "").strip())


# --- Writing and clearing the mirror ------------------------------------------------------


def _locked_until(**lookup) -> float | None:
    """When axes' lock on this subject lifts: the lock holds while the failures of rows
    newer than the cool-off add up to the limit, so it lifts a cool-off after the newest
    row that still reaches the limit counting from the newest."""
    from axes.models import AccessAttempt

    cooloff = settings.AXES_COOLOFF_TIME
    since = timezone.now() - cooloff
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=since, **lookup)
        .order_by("-attempt_time")
        .values_list("attempt_time", "failures_since_start")
    )
    total = 0
    for attempt_time, failures in rows:
        total += failures
        if total >= settings.AXES_FAILURE_LIMIT:
            return (attempt_time + cooloff).timestamp()
    return None


def lock_mirror(*, username: str | None, ip_address: str | None) -> None:
    """Copy axes' lock on this username and/or address into the cache (user_locked_out)."""
    candidates = [("username", normalize_username(username or "")), ("address", ip_address)]
    candidates = [(kind, value) for kind, value in candidates if value]
    keys = {_key(kind, value): (kind, value) for kind, value in candidates}
    try:
        live = cache.get_many(list(keys))
    except Exception:  # noqa: BLE001 - the gate is an optimisation; axes still refuses
        log.warning("cache unavailable while mirroring a sign-in lockout", exc_info=True)
        return
    now, stamp = _now(), _unlocked_at()
    for key, (kind, value) in keys.items():
        entry = live.get(key)
        if entry and entry[0] > now and entry[1] >= stamp:
            continue  # mirrored already
        lookup = {"username": value} if kind == "username" else {"ip_address": value}
        until = _locked_until(**lookup)
        if until is None or until <= now:
            continue
        try:
            cache.set(key, (until, now), timeout=math.ceil(until - now))
        except Exception:  # noqa: BLE001
            log.warning("cache unavailable while mirroring a sign-in lockout", exc_info=True)


def lock_mirror_clear(*, username: str = "", ip_address: str = "") -> None:
    """Forget the mirrored locks (an unlock): in the shared cache, and for every process
    with its own cache through the unlock stamp."""
    keys = [_key("username", normalize_username(username))] if username else []
    keys += [_key("address", ip_address)] if ip_address else []
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001
        log.warning("cache unavailable while clearing a sign-in lockout", exc_info=True)
    path = _unlock_stamp_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        # Entries written in the same clock tick as the unlock count as before it.
        later = _now() + 0.001
        os.utime(path, (later, later))
    except OSError:
        log.warning("could not touch %s: other processes keep their lock copies", path)


# --- The early refusal ----------------------------------------------------------------


def _gate_paths() -> frozenset:
    global _paths
    if _paths is None:
        paths = {reverse("login")}
        with contextlib.suppress(NoReverseMatch):  # no admin site mounted
            paths.add(reverse("admin:login"))
        _paths = frozenset(paths)
    return _paths


def _lockout_page() -> str:
    """The lockout sign-in page, rendered once per process with markers in place of what
    changes per request (username, next, CSRF token, minutes left)."""
    global _page
    if _page is None:
        from django.contrib.auth.forms import AuthenticationForm
        from django.template.loader import render_to_string

        form = AuthenticationForm(None, initial={"username": _USERNAME_MARK})
        _page = render_to_string(
            "registration/login.html",
            {
                "form": form,
                "locked_out": True,
                "cooloff_minutes": _MINUTES,
                "next": _NEXT_MARK,
                "csrf_token": _CSRF_MARK,
            },
        )
    return _page


def lockout_page_response(request, *, retry_after: int, username: str) -> HttpResponse:
    """The sign-in page saying the account or address is locked and for how long, 429."""
    from django.middleware.csrf import get_token

    minutes = max(1, math.ceil(retry_after / 60))
    body = (
        _lockout_page()
        .replace(_USERNAME_MARK, html.escape(username[:150]))
        .replace(_NEXT_MARK, html.escape(str(request.POST.get("next", ""))))
        .replace(_CSRF_MARK, get_token(request))
        .replace(_MINUTES_MARK, f"{minutes} minute{'s' if minutes != 1 else ''}")
    )
    response = HttpResponse(body, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class SignInGateMiddleware:
    """Refuses a POST to a sign-in page from a locked address or for a locked username with
    one cache read: no session, no query, no password, no render."""

    def __init__(self, get_response):
        from csp.middleware import CSPMiddleware
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.csrf import CsrfViewMiddleware

        self.get_response = get_response
        # The headers those middlewares (further in) would have added to the page.
        self._csrf = CsrfViewMiddleware(get_response)
        self._frame = XFrameOptionsMiddleware(get_response)
        self._csp = CSPMiddleware(get_response)

    def __call__(self, request):
        if request.method == "POST" and request.path_info in _gate_paths():
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refusal(self, request):
        from governance import request_context

        address = request_context.current().client_ip or request_context.client_ip(request)
        try:
            username = normalize_username(request.POST.get("username", ""))
        except Exception:  # noqa: BLE001 - a body Django cannot parse: the view answers it
            return None
        keys = []
        if address:
            keys.append(_key("address", address))
        if username:
            keys.append(_key("username", username))
        if not keys:
            return None
        try:
            entries = cache.get_many(keys)
        except Exception:  # noqa: BLE001 - cache down: axes checks as before
            log.warning("cache unavailable for the sign-in gate", exc_info=True)
            return None
        if not entries:
            return None
        now = _now()
        if not any(until > now for until, _written in entries.values()):
            return None
        stamp = _unlocked_at()  # one stat(), only when a lock is mirrored
        live = [until for until, written in entries.values() if until > now and written >= stamp]
        if not live:
            return None  # an unlock since: let axes decide
        retry_after = max(1, math.ceil(max(live) - now))
        self._csrf.process_request(request)
        response = lockout_page_response(request, retry_after=retry_after, username=username)
        response = self._csrf.process_response(request, response)
        response = self._frame.process_response(request, response)
        self._csp.process_request(request)
        return self._csp.process_response(request, response)
