"""XeroLedgerSandbox keeps the LedgerSandbox face: seeded like onboarding, its env reaches it."""

from __future__ import annotations

from decimal import Decimal

from connectors.xero.accounting import XeroAccounting
from connectors.xero.client import XeroCredentials
from dealer_sync.models import MappedLine, MappedOrder, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money
from dealer_sync.settings import Settings
from dealer_sync.tax import tax_lines
from sandbox.ledgers import LedgerSandbox
from sandbox.network import GST_RATES, NetworkSpec, generate
from sandbox.xero.ledger import XeroLedgerSandbox
from tests.connectors.zoho.test_contract import FAST


def test_seed_and_serve_let_a_client_from_the_env_invoice_a_seeded_dealer(monkeypatch, tmp_path):
    network = generate(NetworkSpec(dealers=4, skus=5, orders=6, bad_share=0.5))
    ledger: LedgerSandbox = XeroLedgerSandbox(minute_seconds=1.0)
    seeded = ledger.seed(network)
    assert sorted(seeded.customers) == sorted(d.code for d in network.dealers if d.mapped)
    assert sorted(seeded.items) == sorted(i.sku for i in network.items) and seeded.items["XX-999"] == "XX-999"
    assert sorted(seeded.taxes) == sorted(
        f"gst:{kind}:{rate}" for rate in GST_RATES for kind in ("intra_state", "inter_state")
    )
    assert len(set(seeded.taxes.values())) == 2 * len(GST_RATES)

    dealer = next(d for d in network.dealers if d.mapped and d.state != network.spec.home_state)
    item = next(i for i in network.items if i.in_inventory)
    treatment = TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTER_STATE, place_of_supply=dealer.state)
    price, quantity = Money.of(item.list_price, "INR"), Decimal(3)
    amount = price.times(quantity)
    taxes = tax_lines(amount, item.tax_rate, treatment)
    tax = Money.of(sum(t.amount.amount for t in taxes), "INR")
    order = MappedOrder(
        target_system="xero",
        order_id="ORD-1",
        order_number="PO-000001",
        version=1,
        dealer_id=dealer.code,
        customer_id=seeded.customers[dealer.code],
        document_number="XR-PO-000001",
        currency="INR",
        business_date=network.spec.start.date(),
        tax_treatment=treatment,
        lines=(
            MappedLine(
                line_no=1,
                sku=item.sku,
                item_id=seeded.items[item.sku],
                quantity=quantity,
                unit_price=price,
                amount=amount,
                tax_rate=item.tax_rate,
                tax_id=seeded.taxes[f"gst:inter_state:{item.tax_rate}"],
                tax_lines=taxes,
            ),
        ),
        subtotal=amount,
        tax_total=tax,
        total=amount + tax,
    )

    with ledger.serve() as env:
        assert env["DEALER_SYNC_ACCOUNTING_TARGET"] == "xero"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None, data_dir=tmp_path)
        assert settings.accounting_target == "xero" and settings.xero.refresh_token_file is None
        accounting = XeroAccounting(XeroCredentials.from_settings(settings.xero).get_client(retry=FAST))
        invoice_id = accounting.create_invoice(order)
        (held,) = ledger.invoices()
        assert (held.id, held.number, held.reference, held.customer_id) == (
            invoice_id,
            "XR-PO-000001",
            "PO-000001",
            seeded.customers[dealer.code],
        )
        total = order.total.amount
        assert (held.total, held.tax_total, held.balance) == (total, tax.amount, total)

        ledger.record_payment(invoice_id, Decimal("100.00"))
        ledger.record_credit_note(invoice_id, Decimal("10.00"))
        assert (ledger.payment_count(), ledger.credit_note_count()) == (1, 1)
        credited = Money.of(Decimal("10.00"), "INR").percent(item.tax_rate).amount + Decimal("10.00")
        (after,) = ledger.invoices()
        assert after.balance == order.total.amount - Decimal("100.00") - credited
        (canonical,) = list(accounting.invoices_for_period(order.business_date, order.business_date))
        assert canonical.balance.amount == after.balance
        accounting.close()
