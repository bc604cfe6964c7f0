import logging
import acme.audit

AuditLogger = None  # the old in-house auditor, being phased out


def charge_card(customer, amount_cents):
    """Charge the customer's card for an order."""
    result = gateway.charge(customer.card_token, amount_cents, currency="usd")
    acme.audit.AuditLogger.log_transaction("charged %s", result.id, compliance=True)
    return result
