"""Authentication and request parsing for the API views only (the UI keeps sessions).

A request is authenticated by a personal token (Bearer, or the password in Basic auth)
or, failing that, by the session; session writes must pass the CSRF check because the
views themselves are CSRF-exempt for token clients. Everything then runs as the token's
owner, through the same restrict() as the UI."""

import json
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from governance import access
from governance.request_context import client_ip
from governance.tokens import (
    TokenThrottled,
    note_token_in_context,
    token_failure_note,
    token_from_header,
    token_throttle_check,
)
from registry.api.errors import ApiError, error_response, response_for

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Params:
    """The request's parameters: query string on GET, the JSON body otherwise."""

    def __init__(self, request, *, parse_body: bool = True):
        self._query = request.GET
        self._body = {}
        if parse_body and request.method not in SAFE_METHODS:
            raw = request.body
            if raw:
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ApiError("MALFORMED_REQUEST", "The request body is not JSON.") from exc
                if not isinstance(body, dict):
                    raise ApiError("MALFORMED_REQUEST", "The request body must be a JSON object.")
                self._body = body

    def get(self, key, default=None):
        if key in self._body:
            return self._body[key]
        return self._query.get(key, default)

    def getlist(self, key) -> list:
        if key in self._body:
            value = self._body[key]
            return value if isinstance(value, list) else [value]
        return self._query.getlist(key)

    def required(self, key) -> str:
        value = self.get(key)
        if value is None or value == "":
            raise ApiError(
                "INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{key}'."
            )
        return value


def _csrf_failure(request):
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})


def api_view(*methods: str, write: bool | None = None, raw_body: bool = False):
    """Wrap an API handler: method check, token or session auth, read-only tokens and
    auditors refused on writes, exceptions turned into MLflow's error format."""
    allowed = frozenset(methods)

    def decorate(handler):
        @csrf_exempt
        @login_not_required
        @wraps(handler)
        def view(request, *args, **kwargs):
            if request.method not in allowed:
                return error_response(
                    "ENDPOINT_NOT_FOUND", f"{request.method} is not supported on {request.path}."
                )
            header = request.headers.get("Authorization", "")
            address = client_ip(request)
            if header:
                # An address that sent too many bad tokens is refused before any lookup.
                try:
                    token_throttle_check(address)
                except TokenThrottled as exc:
                    response = error_response("REQUEST_LIMIT_EXCEEDED", str(exc))
                    response["Retry-After"] = str(exc.retry_after)
                    return response
            presented, token = token_from_header(header)
            if presented:
                if token is None:
                    token_failure_note(address)
                    return error_response("UNAUTHENTICATED", "The API token is not valid.")
                request.user = token.user
                request.api_token = token
                note_token_in_context(token)
            elif not request.user.is_authenticated:
                return error_response(
                    "UNAUTHENTICATED", "Authenticate with a personal API token (see docs/api.md)."
                )
            else:
                request.api_token = None
            is_write = write if write is not None else request.method not in SAFE_METHODS
            if is_write:
                if token is None and _csrf_failure(request) is not None:
                    return error_response("PERMISSION_DENIED", "CSRF check failed.")
                if token is not None and not token.can_write:
                    return error_response(
                        "PERMISSION_DENIED", f"Token '{token.name}' is read-only."
                    )
                if access.is_auditor(request.user):
                    return error_response("PERMISSION_DENIED", "Auditors are read-only.")
            try:
                return handler(request, Params(request, parse_body=not raw_body), *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated, or re-raised if unknown
                return response_for(exc)

        return view

    return decorate
