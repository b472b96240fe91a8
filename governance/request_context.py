"""Who is acting, from where, under which request id: for every audit event.

A contextvar carries the context so that services never need the HTTP request. Web
requests get it from the middleware; management commands, the shell and Celery tasks
set it with `audit_context()` (see governance.signals for the Celery hooks).
"""

import contextvars
import ipaddress
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.conf import settings

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    source: str  # web, api, cli, task, shell
    client_ip: str | None = None
    # Extra facts recorded on every event of this context (the API token used, ...).
    extra: tuple[tuple[str, str], ...] = ()


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "attest_request_context", default=None
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> RequestContext:
    """The context in force; outside any (a Python shell) a fresh one per call."""
    ctx = _current.get()
    if ctx is None:
        return RequestContext(request_id=new_request_id(), source="shell")
    return ctx


@contextmanager
def audit_context(*, source: str, request_id: str | None = None, client_ip: str | None = None):
    token = _current.set(
        RequestContext(
            request_id=request_id or new_request_id(), source=source, client_ip=client_ip
        )
    )
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def add_context_fact(key: str, value: str) -> None:
    """Attach a fact (e.g. the API token name) to every event for the rest of this context."""
    ctx = current()
    _current.set(replace(ctx, extra=ctx.extra + ((key, value),)))


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    that many hops from the right of X-Forwarded-For. Each proxy appends the peer it saw, so
    only the rightmost entries were written by proxies we trust; anything to their left is
    whatever the client sent and is never used. Audit events and sign-in throttling
    (AXES_CLIENT_IP_CALLABLE) both read the address here."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    proxies = getattr(settings, "ATTEST_TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < proxies:
        # Fewer entries than proxies: the request did not come through all of them.
        return remote
    return _valid_ip(hops[-proxies]) or remote


def _valid_ip(value) -> str | None:
    if not value:
        return None
    value = str(value).strip()
    if value.startswith("[") and "]" in value:  # "[::1]:port"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:port"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class RequestContextMiddleware:
    """Gives every request an id (reusing a well-formed incoming X-Request-ID)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        source = "api" if request.path.startswith("/api/") else "web"
        request.request_id = request_id
        token = _current.set(
            RequestContext(request_id=request_id, source=source, client_ip=client_ip(request))
        )
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestActorMiddleware:
    """Marks responses that depend on the signed-in user as private to caches."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response.setdefault("Cache-Control", "private, no-store")
        return response
