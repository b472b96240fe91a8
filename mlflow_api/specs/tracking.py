"""The tracking service's request messages (mlflow/protos/service.proto)."""

from pydantic import model_validator

from mlflow_api.specs.fields import (
    Double,
    Enum,
    ExperimentId,
    Int,
    Int64,
    List,
    ReqExperimentId,
    ReqStr,
    Str,
)
from mlflow_api.specs.limits import (
    MAX_DATASETS_PER_BATCH,
    MAX_ENTITIES_PER_BATCH,
    MAX_ENTITY_KEY_LENGTH,
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_ID_LENGTH,
    MAX_LIST,
    MAX_METRICS_PER_BATCH,
    MAX_MODEL_ID_STORED,
    MAX_NAME_LENGTH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_SHORT,
    MAX_TAG_VAL_LENGTH,
    MAX_TAGS,
    MAX_URI_LENGTH,
    METRIC_HISTORY_CAP,
    SEARCH_EXPERIMENTS_CAP,
    SEARCH_LOGGED_MODELS_CAP,
)
from mlflow_api.specs.messages import (
    DatasetFilter,
    DatasetInput,
    ExperimentTag,
    Filter,
    LoggedModelOrderBy,
    Message,
    Metric,
    ModelInput,
    ModelOutput,
    OrderBy,
    Param,
    RunId,
    RunRef,
    RunTag,
    TagKey,
)

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
