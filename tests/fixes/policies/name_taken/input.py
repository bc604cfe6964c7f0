import logging

AuditLogger = None  # the old in-house auditor, being phased out


def charge_card(customer, amount_cents):
    """Charge the customer's card for an order."""
    result = gateway.charge(customer.card_token, amount_cents, currency="usd")
    logging.info("charged %s", result.id)
    return result
