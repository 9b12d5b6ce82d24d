"""A seeded Tally company, orders mapped onto it, and clients pointed at the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.http.transport import RetryPolicy
from connectors.tally.client import TallyClient, TallyCredentials
from dealer_sync.models import MappedLine, MappedOrder, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money, total
from dealer_sync.tax import tax_lines
from sandbox.tally import TallySimulator

COMPANY = "Dealer Sync Demo Pvt Ltd"
FAST = RetryPolicy(max_attempts=4, max_total_seconds=20, backoff_initial=0.02, backoff_max=0.1)
DAY = date(2026, 11, 22)

# Names that must survive XML both ways: Devanagari, accents, markup characters, quotes.
HINDI_PARTY = "श्री गणेश ट्रेडर्स"
CAFE_PARTY = "Café Müller"
MARKUP_PARTY = "A & B <Traders> \"Quoted\" O'Brien's"
BRAKE_PAD = "BP-220 Brake Pad Set"
MARKUP_ITEM = "Pad <4\"> & Disc 'Set'"
GODOWN = "Pune WH"
BANK = "HDFC Bank"


def seeded_simulator(**kwargs: Any) -> TallySimulator:
    """A company with GST ledgers for 0/5/12/18/28 %, a bank, three dealers, two items, a godown."""
    simulator = TallySimulator(company=COMPANY, **kwargs)
    state = simulator.state
    state.add_gst_ledgers((0, 5, 12, 18, 28))
    state.add_ledger(BANK, "Bank Accounts")
    for party, state_name in ((HINDI_PARTY, "Maharashtra"), (CAFE_PARTY, "Karnataka"), (MARKUP_PARTY, "Goa")):
        state.add_ledger(party, "Sundry Debtors", state=state_name, gst_registration_type="Regular")
    state.add_stock_item(BRAKE_PAD, hsn="87083000")
    state.add_stock_item(MARKUP_ITEM)
    state.add_godown(GODOWN)
    return simulator


def client_for(url: str, **overrides: Any) -> TallyClient:
    retry = overrides.pop("retry", FAST)
    fields: dict[str, Any] = {"url": url, "company": COMPANY, "timeout_seconds": 2.0, "minute_seconds": 1.0}
    fields.update(overrides)
    return TallyClient(TallyCredentials(**fields), retry=retry)


def inr(value: str | int | Decimal) -> Money:
    return Money.of(value, "INR")


def order(
    number: str,
    *,
    party: str = HINDI_PARTY,
    lines: list[tuple[str, str | Decimal, int | Decimal, int | Decimal]] | None = None,
    kind: TaxKind = TaxKind.INTRA_STATE,
    place: str = "MH",
    on: date = DAY,
    warehouse: str | None = GODOWN,
    version: int = 1,
) -> MappedOrder:
    """An order mapped onto the seeded company; ``lines`` are (item, unit price, quantity, GST %).

    Tax is computed as the mapping computes it (dealer_sync.tax), line by line, half up.
    """
    treatment = TaxTreatment(regime=TaxRegime.GST, kind=kind, place_of_supply=place)
    mapped_lines = []
    for index, (item, price, quantity, rate) in enumerate(lines or [(BRAKE_PAD, "1450.00", 4, 18)], start=1):
        amount = inr(price).times(quantity)
        mapped_lines.append(
            MappedLine(
                line_no=index,
                sku=f"SKU-{index}",
                item_id=item,
                quantity=Decimal(quantity),
                unit_price=inr(price),
                amount=amount,
                tax_rate=Decimal(rate),
                tax_lines=tax_lines(amount, Decimal(rate), treatment),
                hsn_or_sac="87083000" if item == BRAKE_PAD else None,
            )
        )
    subtotal = total([line.amount for line in mapped_lines], "INR")
    tax = total([t.amount for line in mapped_lines for t in line.tax_lines], "INR")
    return MappedOrder(
        target_system="tally",
        order_id=number,
        order_number=number,
        version=version,
        dealer_id="DLR042",
        customer_id=party,
        document_number=f"INV-{number}",
        currency="INR",
        business_date=on,
        payment_terms_days=30,
        warehouse_id=warehouse,
        tax_treatment=treatment,
        tax_registration="27AAAAA0000A1Z5",
        lines=tuple(mapped_lines),
        subtotal=subtotal,
        tax_total=tax,
        total=subtotal + tax,
    )
