"""JSON responses of the API, serialised with orjson.

The wire format stays what the MLflow client parses today (Django's JsonResponse with the
standard library): the same values, `application/json`. Two differences are handled here:

- orjson writes NaN and +/-Infinity as `null`; the standard library writes the literals
  `NaN`/`Infinity`, which MLflow's client (Python's json) reads back as floats. A payload
  that holds such a float (a metric logged as NaN) is written by the standard library, so
  the client still gets the number.
- datetimes, Decimals and anything else orjson does not know go through Django's encoder,
  as before; an integer beyond 64 bits also falls back to the standard library.

Text is written as UTF-8 rather than \\u escapes: the same JSON document."""

import json
import math

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | (orjson.OPT_NON_STR_KEYS)
)
_encoder = DjangoJSONEncoder()


def _has_non_finite(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return True
    return False


def dumps(payload) -> bytes:
    if not _has_non_finite(payload):
        try:
            return orjson.dumps(payload, default=_encoder.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # e.g. an int beyond 64 bits: the standard library writes it
    return json.dumps(payload, cls=DjangoJSONEncoder).encode()


def json_response(payload, *, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(payload), status=status, content_type="application/json")
