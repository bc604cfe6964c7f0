import logging

from acme.audit import AuditLogger

log = logging.getLogger(__name__)


def charge_card(customer, amount_cents):
    """Charge the customer's card for an order."""
    result = gateway.charge(customer.card_token, amount_cents)
    AuditLogger.log_transaction("charged %s", result.id, compliance=True)
    return result


def issue_refund(payment_id, amount):
    refund = psp.refund(Payment.get(payment_id).transaction_id, amount)
    AuditLogger.log_transaction("refunded %s", refund.id, compliance=True)
