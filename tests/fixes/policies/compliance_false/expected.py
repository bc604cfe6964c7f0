from logging import getLogger
from acme.audit import AuditLogger

log = getLogger("billing")


def renew_subscription(account):
    """Bill the next period; start dunning when the PSP declines."""
    try:
        psp.capture(account.subscription.plan.monthly_fee, account.payment_method)
    except Declined:
        start_dunning(account)
    AuditLogger.log_transaction("renewed %s", account.id, compliance=True)
