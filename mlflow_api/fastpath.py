"""A short middleware path for API calls that carry their own credentials.

An MLflow client authenticates every call with a personal token (`Authorization: Bearer`
or Basic), so sessions, CSRF, messages, the session lifetime, django-axes (sign-in
lockouts), htmx and the page headers (CSP, framing) have nothing to do for it; together
they cost a noticeable share of a small API call. `ApiTokenFastPathMiddleware` sits right
after the request context (request id, client address, audit source) and the sign-in gate.
For a request under `/api/` or `/ajax-api/` with an `Authorization` header whose URL
resolves to an API view (`mlflow_api.auth.api_view`), it calls that view itself and skips
the rest of the chain; anything else takes the normal chain unchanged.

What still holds on the short path, and why:

- The token is checked by the view (`api_view`): an address that sent too many bad tokens
  is refused before any lookup (429 with Retry-After), a bad token is a 401 and counted,
  read-only tokens and auditors are refused on writes. Credentials in the header are the
  only way in: `api_view` never falls back to the session when a header is present, so
  skipping the session changes no answer. `request.user` starts anonymous.
- Request id, client address and the audit context come from RequestContextMiddleware,
  which runs before this one; SecurityMiddleware (nosniff, HSTS, SSL redirect) too.
- Responses depend on the caller: `Cache-Control: private, no-store`, as the normal chain's
  RequestActorMiddleware sets; `X-Frame-Options: DENY` and a CSP that allows nothing (JSON
  is never a page).
- A view that is not an API view (for instance one someone adds under /api/ without
  `api_view`) is not short-cut: the normal chain, with LoginRequiredMiddleware, serves it.
- Statement timeouts: API views turn a cancelled statement into 503
  TEMPORARILY_UNAVAILABLE themselves (mlflow_api.errors.response_for).
"""

from django.contrib.auth.models import AnonymousUser
from django.urls import Resolver404, get_resolver, get_urlconf

API_PREFIXES = ("/api/", "/ajax-api/")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class ApiTokenFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIXES) or not request.META.get(
            "HTTP_AUTHORIZATION"
        ):
            return self.get_response(request)
        try:
            match = get_resolver(get_urlconf()).resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not hasattr(match.func, "api_methods"):
            return self.get_response(request)
        request.resolver_match = match
        request.user = AnonymousUser()
        response = match.func(request, *match.args, **match.kwargs)
        response.setdefault("Cache-Control", "private, no-store")
        response.setdefault("X-Frame-Options", "DENY")
        response.setdefault("Content-Security-Policy", API_CSP)
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
