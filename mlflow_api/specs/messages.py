"""The base Message and the nested messages shared by the registry and tracking specs."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlflow_api.specs.fields import Bool, Double, Int64, List, ReqStr, Str, _wrong
from mlflow_api.specs.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_ENTITY_KEY_LENGTH,
    MAX_EXPERIMENT_TAG_VAL_LENGTH,
    MAX_FILTER_LENGTH,
    MAX_ID_LENGTH,
    MAX_MODEL_ID_STORED,
    MAX_NAME_LENGTH,
    MAX_PARAM_VAL_LENGTH,
    MAX_REGISTRY_TAG_VALUE,
    MAX_SHORT,
    MAX_TAG_VAL_LENGTH,
)

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
