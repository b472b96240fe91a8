from governance.models.accounts import (
    AccountExpiry,
    FailedSignIn,
    ServiceAccount,
    is_service_account,
)
from governance.models.audit import AuditChainHead, AuditEvent, SignedTreeHead
from governance.models.lifecycle import (
    ApprovalPolicy,
    Decision,
    ProtectedAlias,
    RequestComment,
    RiskClassChangeRequest,
    RiskClassDecision,
    TransitionRequest,
)
from governance.models.reports import ComplianceDocument, Report
from governance.models.reviews import AccessReview, AccessReviewItem
from governance.models.tokens import PersonalToken
from governance.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "AccessReview",
    "AccessReviewItem",
    "AccountExpiry",
    "ApprovalPolicy",
    "AuditChainHead",
    "AuditEvent",
    "ComplianceDocument",
    "Decision",
    "FailedSignIn",
    "PersonalToken",
    "ProtectedAlias",
    "Report",
    "RequestComment",
    "RiskClassChangeRequest",
    "RiskClassDecision",
    "ServiceAccount",
    "SignedTreeHead",
    "TransitionRequest",
    "Webhook",
    "WebhookDelivery",
    "is_service_account",
]
