from core.models import Job  # moved to core (issue #16); re-exported for older imports
from registry.models.cards import ModelCard, ModelCardRevision
from registry.models.records import (
    Artifact,
    Metric,
    ModelAlias,
    ModelTag,
    ModelVersion,
    Param,
    RegisteredModel,
    RegisteredModelGroupObjectPermission,
    RegisteredModelUserObjectPermission,
    RiskClass,
    Stage,
    VersionTag,
)
from registry.models.tracking import (
    Experiment,
    LoggedModel,
    Run,
    RunMetric,
    StagedArtifact,
)

__all__ = [
    "Artifact",
    "Experiment",
    "Job",
    "LoggedModel",
    "Metric",
    "ModelAlias",
    "ModelCard",
    "ModelCardRevision",
    "ModelTag",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "RegisteredModelGroupObjectPermission",
    "RegisteredModelUserObjectPermission",
    "RiskClass",
    "Run",
    "RunMetric",
    "Stage",
    "StagedArtifact",
    "VersionTag",
]
