"""Read-only JSON for AI systems, for pipelines and GRC tools.

Authenticated like the MLflow-compatible API: a personal token (`Authorization: Bearer`,
throttled per address on bad tokens, governance.services.tokens) or, failing that, the
session. Rows come through the same `restrict()` as the pages: a system the caller cannot
see is 404. Only GET and HEAD: there is nothing to write here."""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from aisystems import questionnaire, selectors, techdoc
from governance import access
from governance.request_context import client_ip
from governance.services.tokens import (
    TokenThrottled,
    note_token_in_context,
    token_failure_note,
    token_from_header,
    token_throttle_check,
)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error_code": code, "message": message}, status=status)


def _authenticate(request, *, token_only: bool):
    """Set request.user from the token (or keep the session's); a response on refusal."""
    header = request.headers.get("Authorization", "")
    address = client_ip(request)
    if header:
        try:
            token_throttle_check(address)
        except TokenThrottled as exc:
            response = _error(429, "REQUEST_LIMIT_EXCEEDED", str(exc))
            response["Retry-After"] = str(exc.retry_after)
            return response
    presented, token = token_from_header(header)
    if presented:
        if token is None:
            token_failure_note(address)
            return _error(401, "UNAUTHENTICATED", "The API token is not valid.")
        request.user = token.user
        request.api_token = token
        note_token_in_context(token)
        return None
    if token_only or not request.user.is_authenticated:
        return _error(401, "UNAUTHENTICATED", "Authenticate with a personal API token.")
    return None


def read_api(handler):
    @csrf_exempt  # nothing is written; a token carries no cookie
    @login_not_required
    @wraps(handler)
    def view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = _error(405, "METHOD_NOT_ALLOWED", "This endpoint is read-only.")
            response["Allow"] = "GET, HEAD"
            return response
        refused = _authenticate(request, token_only=False)
        if refused is not None:
            return refused
        try:
            return handler(request, *args, **kwargs)
        except Http404 as exc:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", str(exc) or "Not found.")

    return view


def token_api(handler):
    """A write endpoint: POST only, a personal token with write scope only (no session, so
    no CSRF to check), never an auditor."""

    @csrf_exempt  # token-only: a browser's cookies authenticate nothing here
    @login_not_required
    @wraps(handler)
    def view(request, *args, **kwargs):
        if request.method != "POST":
            response = _error(405, "METHOD_NOT_ALLOWED", "POST only.")
            response["Allow"] = "POST"
            return response
        refused = _authenticate(request, token_only=True)
        if refused is not None:
            return refused
        if not request.api_token.can_write:
            return _error(
                403, "PERMISSION_DENIED", f"Token '{request.api_token.name}' is read-only."
            )
        if access.is_auditor(request.user):
            return _error(403, "PERMISSION_DENIED", "Auditors are read-only.")
        try:
            return handler(request, *args, **kwargs)
        except Http404 as exc:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", str(exc) or "Not found.")
        except PermissionDenied as exc:
            return _error(403, "PERMISSION_DENIED", str(exc))

    return view


def system_json(user, system, *, full: bool) -> dict:
    data = {
        "id": system.pk,
        "name": system.name,
        "risk_class": system.risk_class,
        "pending_risk_class": system.pending_risk_class or None,
        "annex_iii_category": system.annex_iii_category,
        "market_status": system.market_status,
        "placed_on_market_on": system.placed_on_market_on.isoformat()
        if system.placed_on_market_on
        else None,
        "retention_until": system.retention_until.isoformat() if system.retention_until else None,
        "updated_at": system.updated_at.isoformat(),
    }
    if not full:
        return data
    latest = selectors.classifications(user, system).first()
    return data | {
        "intended_purpose": system.intended_purpose,
        "operator_role": system.operator_role,
        "provider": {"name": system.provider_name, "address": system.provider_address},
        "deployer": {"name": system.deployer_name, "address": system.deployer_address},
        "not_high_risk_reasoning": system.not_high_risk_reasoning,
        "annex_iv_1": {
            "b_interfaces": system.interfaces,
            "c_software_versions": system.software_versions,
            "c_update_requirements": system.update_requirements,
            "d_delivery_forms": system.delivery_forms,
            "e_hardware": system.hardware,
            "f_product_illustrations": system.product_illustrations,
            "g_deployer_interface": system.deployer_interface,
            "h_instructions_for_use": system.instructions_for_use,
        },
        "models": [
            {"name": m.name, "risk_class": m.risk_class}
            for m in selectors.member_models(user, system)
        ],
        "versions": [
            {"model": v.registered_model.name, "version": v.version, "stage": v.stage}
            for v in selectors.system_versions(user, system)
        ],
        "classification": None
        if latest is None
        else {
            "id": latest.pk,
            "performed_at": latest.performed_at.isoformat(),
            "performed_by": latest.performed_by_username,
            "answers": {q.key: latest.answers.get(q.key) for q in questionnaire.QUESTIONS},
            "prohibited": latest.prohibited,
            "result_class": latest.result_class,
            "reasons": latest.reasons,
            "transparency_duties": latest.transparency_duties,
        },
    }


MAX_RESULTS = 1000


@read_api
def api_system_list(request):
    try:
        limit = min(max(int(request.GET.get("max_results", 100)), 1), MAX_RESULTS)
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return _error(400, "INVALID_PARAMETER_VALUE", "max_results and offset are integers.")
    q = request.GET.get("q", "")[:200]
    if "\x00" in q:
        return _error(400, "INVALID_PARAMETER_VALUE", "'q' contains a NUL character.")
    rows = selectors.system_list(request.user, q=q)
    page = list(rows[offset : offset + limit + 1])
    body = {"ai_systems": [system_json(request.user, s, full=False) for s in page[:limit]]}
    if len(page) > limit:
        body["next_offset"] = offset + limit
    return JsonResponse(body)


@read_api
def api_system_detail(request, pk):
    system = selectors.system_get(request.user, pk)
    return JsonResponse({"ai_system": system_json(request.user, system, full=True)})


@read_api
def api_system_techdoc(request, pk):
    system = selectors.system_get(request.user, pk)
    items = techdoc.build(request.user, system)
    done, total = techdoc.completeness(items)
    return JsonResponse(
        {
            "ai_system": system.name,
            "completeness": {"complete_or_not_applicable": done, "items": total},
            "items": [item.as_dict() for item in items],
        }
    )
