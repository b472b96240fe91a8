"""AI systems (`systems`) and the registers kept for them (`registers`)."""

from aisystems.models.registers import (
    Conformity,
    Dataset,
    Incident,
    MetricObservation,
    MonitoringMetric,
    RightsAssessment,
    RiskEntry,
)
from aisystems.models.systems import (
    ANNEX_III_AREAS,
    AISystem,
    AISystemModel,
    AISystemQuerySet,
    AnnexIII,
    Classification,
    MarketStatus,
    OperatorRole,
    SystemRecordQuerySet,
)

__all__ = [
    "ANNEX_III_AREAS",
    "AISystem",
    "AISystemModel",
    "AISystemQuerySet",
    "AnnexIII",
    "Classification",
    "Conformity",
    "Dataset",
    "Incident",
    "MetricObservation",
    "MonitoringMetric",
    "MarketStatus",
    "OperatorRole",
    "RightsAssessment",
    "RiskEntry",
    "SystemRecordQuerySet",
]
