"""The registers through the API: read every register (GET), and post monitoring
observations (POST, a personal token with write scope: pipelines send what they measure).
Same tokens and throttling as the rest of the API; every row through `restrict()`."""

import json
import math
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.utils import timezone

from aisystems import selectors as system_selectors
from aisystems.api import read_api, token_api
from aisystems.registers import selectors, services
from aisystems.registers.services import snapshot
from aisystems.registers.specs import register_for
from registry.models import ModelVersion

MAX_ENTRIES = 500
MAX_BODY = 4096  # one observation
MAX_TEXT = 200


def _storable(text: str) -> bool:
    """Short, no NUL (PostgreSQL refuses it in text), encodable (no lone surrogate)."""
    if len(text) > MAX_TEXT or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _entry_json(spec, entry) -> dict:
    data = {"id": entry.pk, **snapshot(entry, spec)}
    data["created_at"] = entry.created_at.isoformat()
    data["updated_at"] = entry.updated_at.isoformat()
    if spec.kind == "incidents":
        data["deadline"] = entry.deadline.isoformat()
        data["deadline_days"] = entry.deadline_days
        data["overdue"] = entry.overdue
    if spec.kind == "risks":
        data["score"], data["residual_score"] = entry.score, entry.residual_score
    return data


@read_api
def api_register_list(request, pk, kind):
    spec = register_for(kind)
    system = system_selectors.system_get(request.user, pk)
    rows = selectors.entries(request.user, spec, system)[:MAX_ENTRIES]
    body = {"register": spec.kind, "article": spec.article, "entries": []}
    for entry in rows:
        item = _entry_json(spec, entry)
        if spec.kind == "monitoring":
            item["observations"] = [
                {
                    "value": o.value,
                    "observed_at": o.observed_at.isoformat(),
                    "version": f"{o.model_version.registered_model.name}/v{o.model_version.version}"
                    if o.model_version
                    else None,
                    "breach": o.breach,
                }
                for o in selectors.observations(request.user, entry)
            ]
        body["entries"].append(item)
    return JsonResponse(body)


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error_code": "INVALID_PARAMETER_VALUE", "message": message}, status=400)


@token_api
def api_observation_create(request, pk):
    """POST {"metric": "<metric key>", "value": 0.93, "observed_at": ISO (optional),
    "model": "<name>", "version": 3 (optional)} -> {"observation": {...}}."""
    if len(request.body) > MAX_BODY:
        return _bad(f"The body is over {MAX_BODY} bytes.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return _bad("The body is not JSON.")
    if not isinstance(body, dict):
        return _bad("The body is a JSON object.")
    for key in ("metric", "model", "observed_at"):
        text = body.get(key)
        if text is not None and (not isinstance(text, str) or not _storable(text)):
            return _bad(f"'{key}' is a string of at most {MAX_TEXT} characters, without NUL.")
    value = body.get("value")
    try:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if number else None
    except (TypeError, ValueError, OverflowError):
        value = None
    if value is None or not math.isfinite(value):
        return _bad("'value' is a finite number.")
    system = system_selectors.system_get(request.user, pk)
    spec = register_for("monitoring")
    metric = (
        selectors.entries(request.user, spec, system).filter(metric_key=body.get("metric")).first()
    )
    if metric is None:
        raise Http404("No such metric.")
    observed_at = None
    if body.get("observed_at") is not None:
        try:
            observed_at = datetime.fromisoformat(body["observed_at"])
        except ValueError:
            return _bad("'observed_at' is an ISO 8601 date and time.")
        if timezone.is_naive(observed_at):
            observed_at = timezone.make_aware(observed_at, timezone.utc)
    version = None
    if body.get("model") is not None:
        version = (
            ModelVersion.objects.restrict(request.user, "view")
            .filter(registered_model__name=body["model"], version=body.get("version"))
            .select_related("registered_model")
            .first()
            if isinstance(body.get("version"), int)
            else None
        )
        if version is None:
            raise Http404("No such model version.")
    try:
        row = services.observation_record(
            actor=request.user,
            metric=metric,
            value=value,
            observed_at=observed_at,
            model_version=version,
            source="api",
        )
    except ValidationError as exc:
        return _bad(" ".join(exc.messages))
    except PermissionDenied as exc:
        return JsonResponse({"error_code": "PERMISSION_DENIED", "message": str(exc)}, status=403)
    return JsonResponse(
        {
            "observation": {
                "id": row.pk,
                "metric": metric.metric_key,
                "value": row.value,
                "observed_at": row.observed_at.isoformat(),
                "breach": row.breach,
                "review": row.review_id,
            }
        }
    )
