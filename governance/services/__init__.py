"""Every governance write. Each function is atomic and records one audit event."""

from governance.services.aliases import alias_delete, alias_set
from governance.services.grants import grant_assign, grant_revoke
from governance.services.lifecycle import emergency_rollback, version_archive
from governance.services.risk import (
    model_risk_class_set,
    risk_class_request_decide,
    risk_class_request_open,
    risk_class_request_withdraw,
)
from governance.services.transitions import (
    comment_add,
    decision_record,
    transition_request_open,
    transition_request_withdraw,
)

__all__ = [
    "alias_delete",
    "alias_set",
    "comment_add",
    "decision_record",
    "emergency_rollback",
    "grant_assign",
    "grant_revoke",
    "model_risk_class_set",
    "risk_class_request_decide",
    "risk_class_request_open",
    "risk_class_request_withdraw",
    "transition_request_open",
    "transition_request_withdraw",
    "version_archive",
]
