"""Field types with proto3 JSON semantics: strings, int64s, doubles, bools, enums, lists, page
tokens and numeric ids.
"""

import base64
import binascii
import json
import re
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from mlflow_api.specs.limits import (
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
    MAX_LIST,
    MAX_PAGE_OFFSET,
    MAX_SHORT,
)

# --- Field types ------------------------------------------------------------------------------


def _type_name(value) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(
        type(value), "object"
    )


def _wrong(expected: str, value) -> PydanticCustomError:
    return PydanticCustomError(
        "attest_type",
        "expected {expected}, got {got}",
        {"expected": expected, "got": _type_name(value)},
    )


def _missing() -> PydanticCustomError:
    return PydanticCustomError("missing", "missing")


def _str_check(max_length: int, *, required: bool, pattern: re.Pattern | None, what: str):
    def check(value):
        if not isinstance(value, str):
            raise _wrong("a string", value)
        if required and value == "":
            raise _missing()
        if len(value) > max_length:
            raise PydanticCustomError(
                "attest_length",
                "longer than {max} characters ({length})",
                {"max": max_length, "length": len(value)},
            )
        if "\x00" in value:
            raise PydanticCustomError("attest_nul", "contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError("attest_utf8", "is not valid Unicode text") from exc
        if pattern is not None and value and not pattern.fullmatch(value):
            raise PydanticCustomError("attest_format", "expected {what}", {"what": what})
        return value

    return check


def Str(max_length: int = MAX_SHORT, *, pattern: str | None = None, what: str = ""):  # noqa: N802
    """An optional proto string field of at most `max_length` characters."""
    compiled = re.compile(pattern) if pattern else None
    return Annotated[
        str, BeforeValidator(_str_check(max_length, required=False, pattern=compiled, what=what))
    ]


def ReqStr(max_length: int = MAX_SHORT, *, pattern: str | None = None, what: str = ""):  # noqa: N802
    """A required proto string field: absent, null or "" is 'missing', as MLflow says."""
    compiled = re.compile(pattern) if pattern else None
    return Annotated[
        str, BeforeValidator(_str_check(max_length, required=True, pattern=compiled, what=what))
    ]


_INT_TEXT = re.compile(r"\s*[-+]?\d{1,20}\s*")


def _int_check(low: int, high: int):
    def check(value):
        if isinstance(value, bool):
            raise _wrong("an integer", value)
        if isinstance(value, float):
            if not value.is_integer():
                raise _wrong("an integer", value)
            value = int(value)
        elif isinstance(value, str):
            if not _INT_TEXT.fullmatch(value):
                raise _wrong("an integer", value)
            value = int(value)
        elif not isinstance(value, int):
            raise _wrong("an integer", value)
        if not low <= value <= high:
            raise PydanticCustomError(
                "attest_range", "must be between {low} and {high}", {"low": low, "high": high}
            )
        return value

    return check


def Int(low: int = INT64_MIN, high: int = INT64_MAX):  # noqa: N802
    """A proto int64/int32 field: a JSON number or a decimal string (proto3 JSON)."""
    return Annotated[int, BeforeValidator(_int_check(low, high))]


Int64 = Int()


def _double(value):
    if isinstance(value, bool):
        raise _wrong("a number", value)
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError as exc:
            raise _wrong("a number", value) from exc
    if isinstance(value, float):
        return value
    if isinstance(value, str) and len(value) <= 64:  # "NaN", "Infinity", "1.5" (proto3 JSON)
        try:
            return float(value)
        except ValueError:
            pass
    raise _wrong("a number", value)


Double = Annotated[float, BeforeValidator(_double)]


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # a query string, or a lenient client
    raise _wrong("true or false", value)


Bool = Annotated[bool, BeforeValidator(_bool)]


def Enum(*names: str | None):  # noqa: N802
    """A proto enum: its name, or its number (proto3 JSON accepts both). `names` are in
    number order; None marks a number with no usable name."""
    usable = [n for n in names if n]

    def check(value):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            value = names[value]
        if isinstance(value, str) and value in usable:
            return value
        raise PydanticCustomError(
            "attest_enum", "expected one of {names}", {"names": ", ".join(usable)}
        )

    return Annotated[str, BeforeValidator(check)]


def List(item, max_items: int = MAX_LIST):  # noqa: N802
    """A repeated field of at most `max_items` entries."""

    def check(value):
        if not isinstance(value, list):
            raise _wrong("an array", value)
        if len(value) > max_items:
            raise PydanticCustomError(
                "attest_items",
                "has more than {max} entries ({count})",
                {"max": max_items, "count": len(value)},
            )
        return value

    return Annotated[list[item], BeforeValidator(check)]


def _page_token(value):
    """Attest's page tokens are base64 JSON {"offset": n}; anything else is refused here,
    so a huge offset never reaches the database."""
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()).decode())
        offset = data["offset"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise PydanticCustomError("attest_token", "is not a page token from this server") from exc
    if type(offset) is not int or not 0 <= offset <= MAX_PAGE_OFFSET:
        raise PydanticCustomError("attest_token", "is not a page token from this server")
    return value


_page_text = _str_check(1000, required=False, pattern=None, what="")


def _page_token_field(value):
    value = _page_text(value)
    return _page_token(value) if value else value


PageToken = Annotated[str, BeforeValidator(_page_token_field)]

VERSION = r"[0-9]{1,10}"
EXPERIMENT_ID = r"[0-9]{1,18}"


def _numeric_id(pattern: str, what: str, *, required: bool, high: int):
    """A string id that is a number (model version, experiment id): the client sends it as
    a string; a JSON number is accepted too. Bounded so it fits the database column."""
    compiled = re.compile(pattern)
    text = _str_check(32, required=required, pattern=compiled, what=what)

    def check(value):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        value = text(value)
        if value and int(value) > high:
            raise PydanticCustomError("attest_range", "must be at most {high}", {"high": high})
        return value

    return Annotated[str, BeforeValidator(check)]


Version = _numeric_id(VERSION, "a version number", required=True, high=INT32_MAX)
ExperimentId = _numeric_id(EXPERIMENT_ID, "an experiment id", required=False, high=INT64_MAX)
ReqExperimentId = _numeric_id(EXPERIMENT_ID, "an experiment id", required=True, high=INT64_MAX)
