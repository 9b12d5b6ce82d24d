"""QuickBooksLedgerSandbox: seeded like onboarding, served with the env that points dealer-sync at it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.quickbooks.client import QuickBooksClient, QuickBooksCredentials
from dealer_sync.models import MappedLine, MappedOrder, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money, total
from dealer_sync.settings import Settings
from dealer_sync.tax import tax_key, tax_lines
from sandbox.network import GST_RATES, Network, NetworkSpec, generate
from sandbox.quickbooks.ledger import QuickBooksLedgerSandbox
from tests.connectors.zoho.test_contract import FAST


def small_network() -> Network:
    return generate(NetworkSpec(seed=7, dealers=6, skus=6, orders=30, bad_share=0.2))


def test_seed_creates_mapped_customers_every_item_and_both_gst_codes_per_rate():
    ledger = QuickBooksLedgerSandbox()
    network = small_network()
    seeded = ledger.seed(network)
    assert set(seeded.customers) == {d.code for d in network.dealers if d.mapped}
    assert any(not d.mapped for d in network.dealers)  # the ghost dealer has no customer
    assert set(seeded.items) == {i.sku for i in network.items}
    assert set(seeded.taxes) == {
        f"gst:{kind}:{rate}" for kind in ("intra_state", "inter_state") for rate in GST_RATES
    }
    state = ledger.sandbox.state
    intra = state.get("TaxCode", seeded.taxes["gst:intra_state:18"])
    assert [d["TaxRateRef"]["name"] for d in intra["SalesTaxRateList"]["TaxRateDetail"]] == ["CGST9", "SGST9"]
    inter = state.get("TaxCode", seeded.taxes["gst:inter_state:5"])
    assert [d["TaxRateRef"]["name"] for d in inter["SalesTaxRateList"]["TaxRateDetail"]] == ["IGST5"]
    item = state.get("Item", seeded.items[network.items[0].sku])
    assert item["Sku"] == network.items[0].sku and item["Type"] == "NonInventory"


def test_a_client_built_from_the_served_env_invoices_a_seeded_customer(monkeypatch):
    ledger = QuickBooksLedgerSandbox(minute_seconds=1.0)
    network = small_network()
    seeded = ledger.seed(network)
    dealer = next(d for d in network.dealers if d.mapped and d.state != network.spec.home_state)
    item = network.items[0]
    with ledger.serve() as env:
        assert env["DEALER_SYNC_ACCOUNTING_TARGET"] == "quickbooks"
        assert "DEALER_SYNC_QUICKBOOKS__REFRESH_TOKEN_FILE" not in env
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None)
        assert settings.accounting_target == "quickbooks"
        credentials = QuickBooksCredentials.from_settings(settings.quickbooks)
        assert credentials.minute_seconds == 1.0 and credentials.realm_id == settings.quickbooks.tenant_id
        with QuickBooksClient(credentials, retry=FAST) as client:
            order = _order(dealer.code, seeded.customers[dealer.code], item.sku, seeded.items[item.sku],
                           item.list_price, item.tax_rate, seeded.taxes)  # fmt: skip
            created = client.create_invoice(order)

    [invoice] = ledger.invoices()
    assert (invoice.id, invoice.number, invoice.reference) == (
        created.id,
        order.document_number,
        order.order_number,
    )
    assert invoice.customer_id == seeded.customers[dealer.code]
    assert (invoice.total, invoice.tax_total) == (order.total.amount, order.tax_total.amount)
    ledger.record_payment(invoice.id, Decimal("10.00"))
    ledger.record_credit_note(invoice.id, Decimal("5.00"))
    credit = Money.of(Decimal(5), "INR").percent(item.tax_rate).amount + 5
    assert (ledger.payment_count(), ledger.credit_note_count()) == (1, 1)
    assert ledger.invoices()[0].balance == invoice.total - 10 - credit
    assert ledger.faults is ledger.sandbox.api.faults


def _order(dealer: str, customer: str, sku: str, item_id: str, price: Decimal, rate: Decimal,
           taxes: dict[str, str]) -> MappedOrder:  # fmt: skip
    treatment = TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTER_STATE, place_of_supply="KA")
    amount = Money.of(price, "INR").times(3)
    line = MappedLine(
        line_no=1,
        sku=sku,
        item_id=item_id,
        quantity=Decimal(3),
        unit_price=Money.of(price, "INR"),
        amount=amount,
        tax_rate=rate,
        tax_id=taxes[tax_key(treatment, rate)],
        tax_lines=tax_lines(amount, rate, treatment),
    )
    tax = total([t.amount for t in line.tax_lines], "INR")
    return MappedOrder(
        target_system="quickbooks",
        order_id="ORD-1",
        order_number="PO-000001",
        version=1,
        dealer_id=dealer,
        customer_id=customer,
        document_number="INV-PO-000001",
        currency="INR",
        business_date=date(2026, 11, 22),
        tax_treatment=treatment,
        lines=(line,),
        subtotal=amount,
        tax_total=tax,
        total=amount + tax,
    )
