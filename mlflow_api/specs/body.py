"""Parsing a request's JSON body: size and nesting refused before json.loads can recurse."""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from mlflow_api.errors import ApiError
from mlflow_api.specs.limits import MAX_DEPTH

# --- Parsing the body -------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than `limit`, without parsing it."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json_body(request) -> dict:
    """The request's JSON object body ({} when empty), or an ApiError."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        ) from exc
    if not raw:
        return {}
    try:
        raw.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8 (and the scan needs it)
    except UnicodeDecodeError as exc:
        raise ApiError("MALFORMED_REQUEST", "The request body is not UTF-8 JSON.") from exc
    if too_deep(raw):
        raise ApiError(
            "INVALID_PARAMETER_VALUE",
            f"The request body nests deeper than {MAX_DEPTH} levels.",
        )
    try:
        body = json.loads(raw)
    except RecursionError as exc:  # belt and braces: too_deep() should have caught it
        raise ApiError("INVALID_PARAMETER_VALUE", "The request body nests too deeply.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("MALFORMED_REQUEST", "The request body is not JSON.") from exc
    if not isinstance(body, dict):
        raise ApiError("MALFORMED_REQUEST", "The request body must be a JSON object.")
    return body
