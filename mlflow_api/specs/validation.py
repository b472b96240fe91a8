"""Checking input against a spec: the clean values, or ApiError INVALID_PARAMETER_VALUE naming
the field.
"""

import functools
import typing
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mlflow_api.errors import ApiError
from mlflow_api.specs.messages import Message

# --- Validation -------------------------------------------------------------------------------


@functools.cache
def list_fields(spec: type[Message]) -> frozenset[str]:
    """The repeated fields: on GET they are read with QueryDict.getlist."""
    return frozenset(
        name
        for name, field in spec.model_fields.items()
        if typing.get_origin(field.annotation) is list
    )


def _where(loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: dict) -> str:
    where = _where(error["loc"])
    if error["type"] == "missing":
        return f"Missing value for required parameter '{where}'."
    if not where:  # a model-level check (log-batch's total size)
        return error["msg"].removeprefix("Value error, ")
    return f"Invalid value for parameter '{where}' supplied: {error['msg']}."


def _dump(message: Message) -> dict[str, Any]:
    """The fields the client sent (nested messages in full, with their defaults)."""
    data = {}
    for name in message.model_fields_set:
        value = getattr(message, name)
        if isinstance(value, Message):
            value = _dump_full(value)
        elif isinstance(value, list):
            value = [_dump_full(v) if isinstance(v, Message) else v for v in value]
        data[type(message).model_fields[name].alias or name] = value
    return data


def _dump_full(message: Message) -> dict[str, Any]:
    data = {}
    for name in type(message).model_fields:
        value = getattr(message, name)
        if isinstance(value, Message):
            value = _dump_full(value)
        elif isinstance(value, list):
            value = [_dump_full(v) if isinstance(v, Message) else v for v in value]
        data[type(message).model_fields[name].alias or name] = value
    return data


def validate(spec: type[Message], data: dict) -> dict[str, Any]:
    """The clean input, or ApiError INVALID_PARAMETER_VALUE naming the first bad field."""
    try:
        message = spec.model_validate(data)
    except PydanticValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise ApiError("INVALID_PARAMETER_VALUE", _message(errors[0])) from exc
    return _dump(message)
