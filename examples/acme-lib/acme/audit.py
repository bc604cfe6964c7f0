"""The compliance audit trail: every money movement is recorded here, not in a plain log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

AUDIT_LOGGER_NAME = "acme.audit"


@dataclass(frozen=True)
class AuditEntry:
    """One audit record: what happened, how much money moved, and whether it counts for compliance."""

    message: str
    amount: Decimal | None
    compliance: bool
    service: str = "default"


class AuditLogger:
    """Writes compliance audit entries for money movements (charges, refunds, invoices)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.entries: list[AuditEntry] = []

    @classmethod
    def log_transaction(
        cls,
        message: str,
        *args: object,
        amount: Decimal | None = None,
        compliance: bool = False,
    ) -> AuditEntry:
        """Record a transaction in the audit trail; `compliance=True` marks it for the auditors."""
        text = message % args if args else message
        entry = AuditEntry(text, amount, compliance)
        logging.getLogger(AUDIT_LOGGER_NAME).info(
            text, extra={"amount": None if amount is None else str(amount), "compliance": compliance}
        )
        return entry

    def record(self, message: str, *args: object, amount: Decimal | None = None) -> AuditEntry:
        """Record a compliance entry for this service and keep it for `flush`."""
        entry = self.log_transaction(message, *args, amount=amount, compliance=True)
        entry = AuditEntry(entry.message, entry.amount, entry.compliance, self.service)
        self.entries.append(entry)
        return entry

    def flush(self) -> list[AuditEntry]:
        """The entries recorded since the last flush."""
        entries, self.entries = self.entries, []
        return entries
