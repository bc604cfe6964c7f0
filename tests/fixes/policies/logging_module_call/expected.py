import logging

from shop.models import Invoice
from acme.audit import AuditLogger


def create_invoice(order):
    invoice = Invoice(customer=order.customer, due_date=order.placed + NET_30)
    for item in order.items:
        invoice.add_line(item.sku, item.quantity, item.price)
    invoice.tax = tax_for(order.address, invoice.subtotal)
    AuditLogger.log_transaction("invoice %s created", invoice.number, compliance=True)
    return invoice


def parse_config(path):
    with open(path) as fh:
        data = json.load(fh)
    logging.info("loaded config from %s", path)
    return Settings(**data)
