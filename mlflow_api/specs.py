"""The declared shape of every MLflow endpoint's input, checked before a handler runs.

One pydantic model per request message, with MLflow's field names and proto3 JSON types
(mlflow/protos/service.proto and model_registry.proto): strings must be strings, int64s
are JSON numbers or decimal strings (proto3 JSON), doubles are numbers or "NaN"/"Infinity"
strings, bools are true/false, repeated fields are lists, messages are objects. Caps are
MLflow's where it has them (log-batch sizes, search max_results, key and value lengths)
and the database's where they are smaller. Unknown fields are ignored, as MLflow's server
ignores them (newer clients send fields older servers do not know).

`validate(spec, data)` returns the clean values (only the fields the client sent, null
meaning absent as in proto3 JSON) or raises ApiError INVALID_PARAMETER_VALUE naming the
field: the client gets a 400 in MLflow's error format, never a 5xx. The body is parsed by
`parse_json_body`, which refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE and nesting deeper
than MAX_DEPTH before json.loads can recurse."""

import base64
import binascii
import functools
import json
import re
import typing
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from mlflow_api.errors import ApiError

# --- Limits ---------------------------------------------------------------------------------

MAX_DEPTH = 16  # MLflow's deepest request (log-inputs) is 5 levels
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1
MAX_PAGE_OFFSET = INT32_MAX

# MLflow's (mlflow/utils/validation.py, mlflow/store/*/__init__.py)
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASETS_PER_BATCH = 1000
MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ALIAS_LENGTH = 255
SEARCH_MODELS_CAP = 1000
SEARCH_VERSIONS_CAP = 200_000
SEARCH_EXPERIMENTS_CAP = 50_000
SEARCH_LOGGED_MODELS_CAP = 1000
METRIC_HISTORY_CAP = 25_000

# Attest's own (the database columns, or generous bounds where MLflow has none)
MAX_NAME_LENGTH = 500
MAX_REGISTRY_TAG_VALUE = 5000  # registry.ModelTag/VersionTag.value
MAX_DESCRIPTION_LENGTH = 100_000
MAX_URI_LENGTH = 1000  # ModelVersion.source/run_link, StagedArtifact.path
MAX_ID_LENGTH = 256
MAX_MODEL_ID_STORED = 40  # RunMetric.model_id
MAX_FILTER_LENGTH = 10_000
MAX_SHORT = 250
MAX_TAGS = 100
MAX_LIST = 100

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

# --- Messages ---------------------------------------------------------------------------------


class Message(BaseModel):
    """A request or nested message: unknown fields ignored, null means absent."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _object_without_nulls(cls, data):
        if not isinstance(data, dict):
            raise _wrong("an object", data)
        return {k: v for k, v in data.items() if v is not None}


class RegistryTag(Message):
    key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    value: Str(MAX_REGISTRY_TAG_VALUE) = ""


class RunTag(Message):
    key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    value: Str(MAX_TAG_VAL_LENGTH) = ""


class ExperimentTag(Message):
    key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    value: Str(MAX_EXPERIMENT_TAG_VAL_LENGTH) = ""


class Param(Message):
    key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    value: Str(MAX_PARAM_VAL_LENGTH) = ""


class Metric(Message):
    key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    value: Double | None = None
    timestamp: Int64 = 0
    step: Int64 = 0
    model_id: Str(MAX_MODEL_ID_STORED) = ""
    dataset_name: Str(500) = ""
    dataset_digest: Str(MAX_SHORT) = ""
    run_id: Str(MAX_ID_LENGTH) = ""


class ModelOutput(Message):
    model_id: ReqStr(MAX_ID_LENGTH)
    step: Int64 = 0


class ModelInput(Message):
    model_id: ReqStr(MAX_ID_LENGTH)


class InputTag(Message):
    key: ReqStr(255)
    value: Str(500) = ""


class Dataset(Message):
    name: ReqStr(500)
    digest: ReqStr(36)
    source_type: ReqStr(MAX_SHORT)
    source: ReqStr(65535)
    schema_: Str(1_048_575) = Field("", alias="schema")  # "schema" is a BaseModel method
    profile: Str(1_048_575) = ""


class DatasetInput(Message):
    tags: List(InputTag) = []
    dataset: Dataset


class DatasetFilter(Message):
    dataset_name: ReqStr(500)
    dataset_digest: Str(MAX_SHORT) = ""


class LoggedModelOrderBy(Message):
    field_name: ReqStr(MAX_SHORT)
    ascending: Bool = True
    dataset_name: Str(500) = ""
    dataset_digest: Str(MAX_SHORT) = ""


class NoInput(Message):
    """Endpoints without parameters (server-info, artifact downloads)."""


# Shared field types
ModelName = ReqStr(MAX_NAME_LENGTH)
Description = Str(MAX_DESCRIPTION_LENGTH)
Filter = Str(MAX_FILTER_LENGTH)
OrderBy = List(Str(MAX_SHORT), 20)
RunId = Str(MAX_ID_LENGTH)
TagKey = ReqStr(MAX_ENTITY_KEY_LENGTH)


class RunRef(Message):
    """run_id, or its deprecated alias run_uuid (one of them is needed; the handler says so)."""

    run_id: RunId = ""
    run_uuid: RunId = ""


# --- Model registry (model_registry.proto) --------------------------------------------------


class CreateRegisteredModel(Message):
    name: ModelName
    tags: List(RegistryTag, MAX_TAGS) = []
    description: Description = ""
    deployment_job_id: Str(MAX_ID_LENGTH) = ""


class GetRegisteredModel(Message):
    name: ModelName


class RenameRegisteredModel(Message):
    name: ModelName
    new_name: ReqStr(MAX_NAME_LENGTH)


class UpdateRegisteredModel(Message):
    name: ModelName
    description: Description = ""
    deployment_job_id: Str(MAX_ID_LENGTH) = ""


DeleteRegisteredModel = GetRegisteredModel


class SearchRegisteredModels(Message):
    filter: Filter = ""
    max_results: Int(1, SEARCH_MODELS_CAP) = 100
    order_by: OrderBy = []
    page_token: PageToken = ""


class GetLatestVersions(Message):
    name: ModelName
    stages: List(Str(32), 10) = []


class SetRegisteredModelTag(Message):
    name: ModelName
    key: TagKey
    value: Str(MAX_REGISTRY_TAG_VALUE) = ""


class DeleteRegisteredModelTag(Message):
    name: ModelName
    key: TagKey


class SetRegisteredModelAlias(Message):
    name: ModelName
    alias: ReqStr(MAX_ALIAS_LENGTH)
    version: Version


class DeleteRegisteredModelAlias(Message):
    name: ModelName
    alias: ReqStr(MAX_ALIAS_LENGTH)


GetModelVersionByAlias = DeleteRegisteredModelAlias


class CreateModelVersion(Message):
    name: ModelName
    source: Str(MAX_URI_LENGTH) = ""
    run_id: RunId = ""
    tags: List(RegistryTag, MAX_TAGS) = []
    run_link: Str(MAX_URI_LENGTH) = ""
    description: Description = ""
    model_id: Str(MAX_ID_LENGTH) = ""


class GetModelVersion(Message):
    name: ModelName
    version: Version


class UpdateModelVersion(GetModelVersion):
    description: Description = ""


DeleteModelVersion = GetModelVersion
GetModelVersionDownloadUri = GetModelVersion


class SearchModelVersions(Message):
    filter: Filter = ""
    max_results: Int(1, SEARCH_VERSIONS_CAP) = 10_000
    order_by: OrderBy = []
    page_token: PageToken = ""


class TransitionModelVersionStage(GetModelVersion):
    stage: ReqStr(32)
    archive_existing_versions: Bool = False


class SetModelVersionTag(GetModelVersion):
    key: TagKey
    value: Str(MAX_REGISTRY_TAG_VALUE) = ""


class DeleteModelVersionTag(GetModelVersion):
    key: TagKey


# --- Tracking (service.proto) -----------------------------------------------------------------


class GetExperiment(Message):
    experiment_id: ReqExperimentId


class GetExperimentByName(Message):
    experiment_name: ReqStr(MAX_EXPERIMENT_NAME_LENGTH)


class CreateExperiment(Message):
    name: ReqStr(MAX_EXPERIMENT_NAME_LENGTH)
    artifact_location: Str(MAX_URI_LENGTH) = ""
    tags: List(ExperimentTag, MAX_TAGS) = []


class SearchExperiments(Message):
    max_results: Int(1, SEARCH_EXPERIMENTS_CAP) = 1000
    page_token: Str(1000) = ""
    filter: Filter = ""
    order_by: OrderBy = []
    view_type: Enum(None, "ACTIVE_ONLY", "DELETED_ONLY", "ALL") = "ACTIVE_ONLY"


class CreateRun(Message):
    experiment_id: ExperimentId = ""
    user_id: Str(MAX_ID_LENGTH) = ""
    run_name: Str(MAX_TAG_VAL_LENGTH) = ""
    start_time: Int64 = 0
    tags: List(RunTag, MAX_TAGS) = []


GetRun = RunRef

RUN_STATUS = (None, "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class UpdateRun(RunRef):
    status: Enum(*RUN_STATUS) = ""
    end_time: Int64 = 0
    run_name: Str(MAX_TAG_VAL_LENGTH) = ""


class LogParam(RunRef):
    key: TagKey
    value: Str(MAX_PARAM_VAL_LENGTH) = ""


class LogMetric(RunRef):
    key: TagKey
    value: Double | None = None
    timestamp: Int64 = 0
    step: Int64 = 0
    model_id: Str(MAX_MODEL_ID_STORED) = ""
    dataset_name: Str(500) = ""
    dataset_digest: Str(MAX_SHORT) = ""


class SetTag(RunRef):
    key: TagKey
    value: Str(MAX_TAG_VAL_LENGTH) = ""


class LogBatch(RunRef):
    metrics: List(Metric, MAX_METRICS_PER_BATCH) = []
    params: List(Param, MAX_PARAMS_TAGS_PER_BATCH) = []
    tags: List(RunTag, MAX_PARAMS_TAGS_PER_BATCH) = []

    @model_validator(mode="after")
    def _batch_size(self):
        total = len(self.metrics) + len(self.params) + len(self.tags)
        if total > MAX_ENTITIES_PER_BATCH:
            raise ValueError(
                f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} "
                f"metrics, params and tags in total; got {total}."
            )
        return self


class LogOutputs(Message):
    run_id: ReqStr(MAX_ID_LENGTH)
    models: List(ModelOutput) = []


class LogInputs(Message):
    run_id: ReqStr(MAX_ID_LENGTH)
    datasets: List(DatasetInput, MAX_DATASETS_PER_BATCH) = []
    models: List(ModelInput) = []


class GetMetricHistory(RunRef):
    metric_key: ReqStr(MAX_ENTITY_KEY_LENGTH)
    page_token: Str(1000) = ""
    max_results: Int(1, METRIC_HISTORY_CAP) = METRIC_HISTORY_CAP


LOGGED_MODEL_STATUS = (
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
)
LoggedModelTag = RunTag
LoggedModelParameter = Param


class CreateLoggedModel(Message):
    experiment_id: ExperimentId = ""  # required by MLflow; Attest files it under Default
    name: Str(MAX_NAME_LENGTH) = ""
    model_type: Str(MAX_SHORT) = ""
    source_run_id: RunId = ""
    params: List(LoggedModelParameter, MAX_PARAMS_TAGS_PER_BATCH) = []
    tags: List(LoggedModelTag, MAX_PARAMS_TAGS_PER_BATCH) = []


class FinalizeLoggedModel(Message):
    status: Enum(*LOGGED_MODEL_STATUS) = ""


class SetLoggedModelTags(Message):
    tags: List(LoggedModelTag, MAX_PARAMS_TAGS_PER_BATCH) = []


class SearchLoggedModels(Message):
    experiment_ids: List(ExperimentId, MAX_LIST) = []
    filter: Filter = ""
    datasets: List(DatasetFilter) = []
    max_results: Int(1, SEARCH_LOGGED_MODELS_CAP) = 100
    order_by: List(LoggedModelOrderBy, 20) = []
    page_token: Str(1000) = ""


class ListArtifacts(Message):
    path: Str(MAX_URI_LENGTH) = ""


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


# Endpoints whose input depends on the method
ALIAS = {
    "POST": SetRegisteredModelAlias,
    "DELETE": DeleteRegisteredModelAlias,
    "GET": GetModelVersionByAlias,
}
LOGGED_MODEL = {"GET": NoInput, "PATCH": FinalizeLoggedModel, "DELETE": NoInput}
