"""The caps on API input: MLflow's where it has them, the database's where they are smaller."""


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
