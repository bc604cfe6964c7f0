"""Billing: charges, refunds and invoices, each recorded in the compliance audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from acme.audit import AuditEntry, AuditLogger
from acme.gizmo import GizmoClient, Reservation, Widget


@dataclass(frozen=True)
class Invoice:
    customer: str
    lines: tuple[tuple[str, int, Decimal], ...]

    @property
    def total(self) -> Decimal:
        return sum((price * quantity for _, quantity, price in self.lines), Decimal(0))


def widget_price(widget: Widget) -> Decimal:
    return Decimal(widget.price_cents) / 100


def charge_for_widget(gizmo: GizmoClient, customer: str, widget_id: str, quantity: int) -> Decimal:
    """Reserve stock in Microservice B and charge the customer for it."""
    widget = gizmo.fetch_widget(widget_id)
    reservation = gizmo.reserve(widget_id, quantity)
    amount = widget_price(widget) * quantity
    AuditLogger.log_transaction(
        "charged %s for %s", customer, reservation.reservation_id, amount=amount, compliance=True
    )
    return amount


def refund_reservation(gizmo: GizmoClient, audit: AuditLogger, reservation: Reservation) -> AuditEntry:
    """Release the stock and record the refund."""
    widget = gizmo.fetch_widget(reservation.widget_id)
    gizmo.release(reservation)
    return audit.record(
        "refunded %s", reservation.reservation_id, amount=widget_price(widget) * reservation.quantity
    )


def create_invoice(gizmo: GizmoClient, audit: AuditLogger, customer: str, widget_ids: list[str]) -> Invoice:
    """One invoice line per widget, priced by Microservice B."""
    lines = []
    for widget_id in widget_ids:
        widget = gizmo.fetch_widget(widget_id)
        lines.append((widget.widget_id, 1, widget_price(widget)))
    invoice = Invoice(customer, tuple(lines))
    audit.record("invoice for %s", customer, amount=invoice.total)
    return invoice


def close_billing_day(audit: AuditLogger) -> list[AuditEntry]:
    entries = audit.flush()
    AuditLogger.log_transaction("closed the day with %d entries", len(entries), compliance=True)
    return entries
