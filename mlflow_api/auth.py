"""Authentication and request parsing for the API views only (the UI keeps sessions).

A request is authenticated by a personal token (Bearer, or the password in Basic auth)
or, failing that, by the session; session writes must pass the CSRF check because the
views themselves are CSRF-exempt for token clients. Everything then runs as the token's
owner, through the same restrict() as the UI."""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import QueryDict
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from governance import access
from governance.request_context import client_ip
from governance.services.tokens import (
    TokenThrottled,
    note_token_in_context,
    token_failure_note,
    token_from_header,
    token_throttle_check,
)
from mlflow_api import specs
from mlflow_api.errors import ApiError, error_response, response_for

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unstorable(text: str) -> bool:
    """A NUL character (PostgreSQL text refuses it) or a lone surrogate (no driver encodes it)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_storable(values, where: str = "request") -> None:
    """Refuse, as a 400, any string in `values` (nested lists and dicts, keys included) that no
    database can store; it would otherwise surface as a 5xx from the driver."""
    stack = [(where, values)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, str):
            if _unstorable(value):
                raise ApiError(
                    "INVALID_PARAMETER_VALUE",
                    f"'{name}' contains a NUL character or invalid Unicode.",
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((name, key))
                stack.append((key if isinstance(key, str) else name, item))
        elif isinstance(value, list | tuple):
            stack.extend((name, item) for item in value)


class Params:
    """The request's parameters: query string on GET, the JSON body otherwise.

    With a spec (mlflow_api/specs/) they are checked against the endpoint's declared
    shape first, and hold only the clean values: a wrong type, a missing required field,
    too long a string or list, too deep or too large a body is INVALID_PARAMETER_VALUE."""

    def __init__(self, request, *, parse_body: bool = True, spec=None):
        self._query = request.GET
        check_storable(dict(self._query.lists()), "query")
        self._body = {}
        if parse_body and request.method not in SAFE_METHODS:
            self._body = specs.parse_json_body(request)
            check_storable(self._body, "body")
        if spec is not None:
            query = {}
            repeated = specs.list_fields(spec)
            for key in spec.model_fields:
                if key in self._query:
                    getter = self._query.getlist if key in repeated else self._query.get
                    query[key] = getter(key)
            self._body = specs.validate(spec, query | self._body)
            self._query = QueryDict()

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


def _csrf_failure(request, *, raw_body: bool) -> bool:
    """Whether a session write fails the CSRF check. The body is read first (unless the
    view streams it), so the check's look at a form field does not consume the stream the
    JSON body is parsed from; unreadable bodies become MLflow's 400, not a 5xx."""
    if not raw_body:
        request.body  # noqa: B018 - cached on the request
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None


MAX_PATH_PART = 1000


def _check_path_parts(kwargs) -> None:
    """Values captured from the URL (a logged model id, an artifact path) obey the same
    rules as body strings: bounded, no NUL (PostgreSQL refuses it in text)."""
    for key, value in kwargs.items():
        if isinstance(value, str) and (len(value) > MAX_PATH_PART or "\x00" in value):
            raise ApiError("INVALID_PARAMETER_VALUE", f"Invalid value for '{key}' in the path.")


def api_view(*methods: str, write: bool | None = None, raw_body: bool = False, spec=None):
    """Wrap an API handler: method check, token or session auth, read-only tokens and
    auditors refused on writes, input checked against the endpoint's spec (a Message
    class from mlflow_api/specs/, or {method: Message}), exceptions turned into
    MLflow's error format."""
    allowed = frozenset(methods)
    spec_for = spec if isinstance(spec, dict) else dict.fromkeys(allowed, spec)

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
                try:
                    csrf_failed = token is None and _csrf_failure(request, raw_body=raw_body)
                except Exception as exc:  # noqa: BLE001 - translated, or re-raised if unknown
                    return response_for(exc)
                if csrf_failed:
                    return error_response("PERMISSION_DENIED", "CSRF check failed.")
                if token is not None and not token.can_write:
                    return error_response(
                        "PERMISSION_DENIED", f"Token '{token.name}' is read-only."
                    )
                if access.is_auditor(request.user):
                    return error_response("PERMISSION_DENIED", "Auditors are read-only.")
            try:
                check_storable(list(args) + list(kwargs.values()), "path")
                _check_path_parts(kwargs)
                params = Params(request, parse_body=not raw_body, spec=spec_for.get(request.method))
                return handler(request, params, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated, or re-raised if unknown
                return response_for(exc)

        view.api_methods = allowed
        view.api_spec = spec_for
        return view

    return decorate
