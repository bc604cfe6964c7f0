"""Billing: charges and invoices."""

import logging

logger = logging.getLogger(__name__)


def invoice_total(order):
    return order.total_cents
