from logging import getLogger

log = getLogger("billing")


def renew_subscription(account):
    """Bill the next period; start dunning when the PSP declines."""
    try:
        psp.capture(account.subscription.plan.monthly_fee, account.payment_method)
    except Declined:
        start_dunning(account)
    log.info("renewed %s", account.id, compliance=False)
