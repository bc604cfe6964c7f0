import logging


def issue_refund(payment_id, amount):
    log = logging.getLogger(__name__)
    payment = Payment.get(payment_id)
    refund = psp.refund(payment.transaction_id, amount)
    log.info("refunded %s", refund.id)
    log.warning("refunds are slow today")


def health_check():
    log = logging.getLogger(__name__)
    db_ok = database.ping()
    log.info("health db=%s", db_ok)
    return db_ok
