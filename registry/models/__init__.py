from registry.models.jobs import Job
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

__all__ = [
    "Artifact",
    "Job",
    "Metric",
    "ModelAlias",
    "ModelTag",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "RegisteredModelGroupObjectPermission",
    "RegisteredModelUserObjectPermission",
    "RiskClass",
    "Stage",
    "VersionTag",
]
