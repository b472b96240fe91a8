from governance.models.accounts import AccountExpiry
from governance.models.audit import AuditChainHead, AuditEvent

__all__ = ["AccountExpiry", "AuditChainHead", "AuditEvent"]
