"""The model registry's request messages (mlflow/protos/model_registry.proto)."""

from mlflow_api.specs.fields import Bool, Int, List, PageToken, ReqStr, Str, Version
from mlflow_api.specs.limits import (
    MAX_ALIAS_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REGISTRY_TAG_VALUE,
    MAX_TAGS,
    MAX_URI_LENGTH,
    SEARCH_MODELS_CAP,
    SEARCH_VERSIONS_CAP,
)
from mlflow_api.specs.messages import (
    Description,
    Filter,
    Message,
    ModelName,
    OrderBy,
    RegistryTag,
    RunId,
    TagKey,
)

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
