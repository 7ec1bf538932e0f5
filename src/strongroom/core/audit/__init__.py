"""Audit devices: the broker (table, fail-closed logging), devices, entry format, hash chain."""

from strongroom.core.audit.broker import AUDIT_TABLE_KEY, AuditBroker, AuditFailed, auditable
from strongroom.core.audit.chain import GENESIS, VerifyResult, verify

__all__ = [
    "AUDIT_TABLE_KEY",
    "GENESIS",
    "AuditBroker",
    "AuditFailed",
    "VerifyResult",
    "auditable",
    "verify",
]
