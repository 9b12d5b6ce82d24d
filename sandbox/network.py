"""A seeded, realistic dealer network: dealers across states, SKUs across warehouses, orders.

The same seed always yields the same network, so tests can assert exact outcomes. A share of
the orders is made bad on purpose, one kind after another, and the generator says which.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from faker import Faker
from sqlalchemy import Engine, insert

from connectors.portal_sql import schema
from dealer_sync.models import Dealer, OrderStatus
from dealer_sync.money import Money
from dealer_sync.tax import line_tax, treatment_for

# GST state codes (first two digits of a GSTIN) of the states dealers are spread across.
STATES: dict[str, str] = {
    "MH": "27",
    "KA": "29",
    "GJ": "24",
    "TN": "33",
    "DL": "07",
    "UP": "09",
    "RJ": "08",
    "TG": "36",
}
WAREHOUSES: list[tuple[str, str]] = [("PUNE", "Pune WH"), ("NASHIK", "Nashik WH"), ("NAGPUR", "Nagpur WH")]
PARTS = [
    "Brake Pad Set",
    "Clutch Plate",
    "Oil Filter",
    "Air Filter",
    "Spark Plug",
    "Head Lamp",
    "Wiper Blade",
    "Fuel Pump",
    "Radiator Hose",
    "Timing Belt",
    "Shock Absorber",
    "Drive Chain",
]
GST_RATES = [Decimal(5), Decimal(12), Decimal(18), Decimal(28)]


class BadKind(StrEnum):
    """The ways a generated order is wrong, each of which must end in quarantine with a reason."""

    UNKNOWN_SKU = "unknown_sku"
    UNMAPPED_DEALER = "unmapped_dealer"
    NEGATIVE_QUANTITY = "negative_quantity"
    OFF_PRICE_LIST = "off_price_list"
    OVER_CREDIT_LIMIT = "over_credit_limit"


@dataclass(frozen=True)
class NetworkSpec:
    seed: int = 42
    dealers: int = 12
    skus: int = 24
    warehouses: int = 2
    orders: int = 60
    bad_share: float = 0.15
    home_state: str = "MH"
    currency: str = "INR"
    start: datetime = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)


@dataclass(frozen=True)
class DealerSpec:
    code: str
    name: str
    email: str
    state: str
    gstin: str
    credit_limit: Decimal
    price_list_id: str
    mapped: bool = True  # False: no customer exists for it in the accounting system


@dataclass(frozen=True)
class ItemSpec:
    sku: str
    name: str
    hsn: str
    tax_rate: Decimal
    list_price: Decimal
    stock: dict[str, Decimal]  # warehouse code -> on hand
    in_inventory: bool = True  # False: the portal sells a SKU the inventory system lacks


@dataclass(frozen=True)
class LineSpec:
    line_no: int
    sku: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class OrderSpec:
    id: str
    number: str
    dealer_code: str
    warehouse_code: str
    placed_at: datetime
    confirmed_at: datetime
    lines: tuple[LineSpec, ...]
    bad: BadKind | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal(0))

    @property
    def tax_total(self) -> Decimal:
        return sum((ln.tax_amount for ln in self.lines), Decimal(0))


@dataclass
class Network:
    spec: NetworkSpec
    warehouses: list[tuple[str, str]]
    dealers: list[DealerSpec]
    items: list[ItemSpec]
    orders: list[OrderSpec] = field(default_factory=list)

    @property
    def good_orders(self) -> list[OrderSpec]:
        return [o for o in self.orders if o.bad is None]

    @property
    def bad_orders(self) -> dict[str, BadKind]:
        return {o.id: o.bad for o in self.orders if o.bad is not None}

    def dealer(self, code: str) -> DealerSpec:
        return next(d for d in self.dealers if d.code == code)

    def item(self, sku: str) -> ItemSpec:
        return next(i for i in self.items if i.sku == sku)


def _gstin(rng: random.Random, state: str) -> str:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
    digits = "".join(rng.choice("0123456789") for _ in range(4))
    check = rng.choice("0123456789")
    return f"{STATES[state]}{letters}{digits}{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}1Z{check}"


def generate(spec: NetworkSpec = NetworkSpec()) -> Network:
    """Build the whole network from the seed: nothing here touches a database or a server."""
    rng = random.Random(spec.seed)
    fake = Faker("en_IN")
    fake.seed_instance(spec.seed)
    warehouses = WAREHOUSES[: spec.warehouses]

    items = []
    for n in range(spec.skus):
        part = PARTS[n % len(PARTS)]
        sku = f"{''.join(w[0] for w in part.split())}-{200 + n}"
        items.append(
            ItemSpec(
                sku=sku,
                name=f"{part} {sku}",
                hsn=f"8708{rng.randint(1000, 9999)}",
                tax_rate=rng.choice(GST_RATES),
                list_price=Decimal(rng.randint(150, 9000)) + Decimal(rng.choice([0, 50])) / 100,
                stock={code: Decimal(rng.randint(20, 400)) for code, _ in warehouses},
            )
        )

    states = list(STATES)
    dealers = []
    for n in range(spec.dealers):
        state = spec.home_state if n % 3 == 0 else states[n % len(states)]
        company = fake.company()
        dealers.append(
            DealerSpec(
                code=f"DLR{n + 1:03d}",
                name=company,
                email=f"orders{n + 1}@{fake.domain_name()}",
                state=state,
                gstin=_gstin(rng, state),
                credit_limit=Decimal(rng.choice([5_000_000, 10_000_000, 20_000_000])),
                price_list_id="PL-STD",
            )
        )
    network = Network(spec, warehouses, dealers, items)
    real_dealers, real_items = list(dealers), list(items)  # bad orders add a ghost to each list

    bad_kinds = list(BadKind)
    n_bad = round(spec.orders * spec.bad_share)
    bad_slots = set(rng.sample(range(spec.orders), n_bad)) if n_bad else set()
    bad_cycle = iter(bad_kinds * (n_bad // len(bad_kinds) + 1))
    ghost_item: ItemSpec | None = None
    ghost_dealer: DealerSpec | None = None
    for n in range(spec.orders):
        bad = next(bad_cycle) if n in bad_slots else None
        dealer = rng.choice(real_dealers)
        if bad is BadKind.UNMAPPED_DEALER:
            if ghost_dealer is None:
                ghost_dealer = DealerSpec(
                    code=f"DLR{len(dealers) + 1:03d}",
                    name=fake.company(),
                    email="new@dealer.example",
                    state="KA",
                    gstin=_gstin(rng, "KA"),
                    credit_limit=Decimal(500_000),
                    price_list_id="PL-STD",
                    mapped=False,
                )
                dealers.append(ghost_dealer)
            dealer = ghost_dealer
        chosen = rng.sample(real_items, k=min(len(real_items), rng.randint(1, 4)))
        if bad is BadKind.UNKNOWN_SKU:
            if ghost_item is None:
                ghost_item = ItemSpec(
                    sku="XX-999",
                    name="Discontinued Horn XX-999",
                    hsn="85123010",
                    tax_rate=Decimal(18),
                    list_price=Decimal("499.00"),
                    stock={},
                    in_inventory=False,
                )
                items.append(ghost_item)
            chosen = [*chosen[:-1], ghost_item]
        treatment = treatment_for(_as_dealer(dealer, spec.currency), spec.home_state)
        lines = []
        for line_no, item in enumerate(chosen, start=1):
            quantity = Decimal(rng.randint(1, 12))
            price = item.list_price
            if bad is BadKind.NEGATIVE_QUANTITY and line_no == 1:
                quantity = -quantity
            if bad is BadKind.OFF_PRICE_LIST and line_no == 1:
                price = (price * Decimal("0.9")).quantize(Decimal("0.01"))
            if bad is BadKind.OVER_CREDIT_LIMIT and line_no == 1:
                quantity = (dealer.credit_limit / price).to_integral_value() + 1
            amount = Money.of(price, spec.currency).times(quantity)
            tax = line_tax(amount, item.tax_rate, treatment)
            lines.append(
                LineSpec(line_no, item.sku, quantity, price, amount.amount, item.tax_rate, tax.amount)
            )
        placed = spec.start + timedelta(minutes=37 * n + rng.randint(0, 30))
        network.orders.append(
            OrderSpec(
                id=f"ORD-{spec.seed}-{n + 1:05d}",
                number=f"PO-{n + 1:06d}",
                dealer_code=dealer.code,
                warehouse_code=rng.choice(warehouses)[0],
                placed_at=placed,
                confirmed_at=placed + timedelta(minutes=rng.randint(5, 90)),
                lines=tuple(lines),
                bad=bad,
            )
        )
    return network


def _as_dealer(spec: DealerSpec, currency: str) -> Dealer:
    return Dealer(
        id=spec.code,
        name=spec.name,
        currency=currency,
        credit_limit=Money.of(spec.credit_limit, currency),
        state=spec.state,
        tax_registration=spec.gstin,
    )


def seed_portal(engine: Engine, network: Network) -> None:
    """Write the network into an initialised portal database (its catalog, dealers, orders)."""
    now = network.spec.start
    currency = network.spec.currency
    with engine.begin() as connection:
        connection.execute(
            insert(schema.warehouses), [{"code": c, "name": n, "active": True} for c, n in network.warehouses]
        )
        connection.execute(
            insert(schema.catalog_items),
            [
                {
                    "sku": i.sku,
                    "name": i.name,
                    "unit": "pcs",
                    "hsn_or_sac": i.hsn,
                    "tax_rate": i.tax_rate,
                    "active": True,
                    "updated_at": now,
                }
                for i in network.items
            ],
        )
        connection.execute(
            insert(schema.price_lists), [{"id": "PL-STD", "name": "Standard", "currency": currency}]
        )
        connection.execute(
            insert(schema.price_list_items),
            [{"price_list_id": "PL-STD", "sku": i.sku, "unit_price": i.list_price} for i in network.items],
        )
        connection.execute(
            insert(schema.dealers),
            [
                {
                    "code": d.code,
                    "name": d.name,
                    "email": d.email,
                    "currency": currency,
                    "credit_limit": d.credit_limit,
                    "country": "IN",
                    "state": d.state,
                    "gstin": d.gstin,
                    "price_list_id": d.price_list_id,
                    "payment_terms_days": 30,
                    "active": True,
                    "updated_at": now,
                }
                for d in network.dealers
            ],
        )
        for order in network.orders:
            connection.execute(
                insert(schema.orders).values(
                    id=order.id,
                    number=order.number,
                    dealer_code=order.dealer_code,
                    status=OrderStatus.CONFIRMED.value,
                    currency=currency,
                    subtotal=order.subtotal,
                    tax_total=order.tax_total,
                    total=order.subtotal + order.tax_total,
                    place_of_supply=network.dealer(order.dealer_code).state,
                    price_list_id="PL-STD",
                    warehouse_code=order.warehouse_code,
                    placed_at=order.placed_at,
                    confirmed_at=order.confirmed_at,
                    updated_at=order.confirmed_at,
                    version=1,
                )
            )
            connection.execute(
                insert(schema.order_lines),
                [
                    {
                        "order_id": order.id,
                        "line_no": ln.line_no,
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                        "unit_price": ln.unit_price,
                        "amount": ln.amount,
                        "tax_rate": ln.tax_rate,
                        "tax_amount": ln.tax_amount,
                        "description": network.item(ln.sku).name,
                    }
                    for ln in order.lines
                ],
            )
