import logging
from acme.audit import AuditLogger


class BillingService:
    def __init__(self, psp):
        self.psp = psp
        self.log = logging.getLogger("billing")

    def prorate_plan_change(self, subscription, new_plan, today):
        days_left = (subscription.period_end - today).days
        credit = subscription.plan.price * days_left / subscription.period_days
        AuditLogger.log_transaction(
            "proration credit %s for %s",
            credit,
            subscription.id,
            compliance=True,
        )
        return new_plan.price * days_left / subscription.period_days - credit
