"""Malformed input of any shape ends as a reasoned reject, never as a crashed batch."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import delete, insert

from connectors.portal_sql import schema
from connectors.portal_sql.client import SqlPortal
from connectors.portal_sql.database import init_portal
from connectors.zoho_books.wire import ZohoCreditNote, ZohoInvoice, ZohoPayment
from connectors.zoho_inventory.wire import ZohoItem
from dealer_sync.db import make_engine

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)

amounts = st.one_of(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("0"), Decimal("0.005"), Decimal("-0.01")]),
)
line = st.fixed_dictionaries(
    {
        "line_no": st.integers(min_value=-2, max_value=5),
        "sku": st.sampled_from(["BP-220", "", "  ", "XX-999", "BP-220\n"]),
        "quantity": amounts,
        "unit_price": amounts,
        "amount": amounts,
        "tax_rate": st.sampled_from([Decimal(0), Decimal(18), Decimal(150), Decimal(-5)]),
        "tax_amount": amounts,
    }
)
order = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["confirmed"]),
        "currency": st.sampled_from(["INR", "inr", "RUPEE", "USD"]),
        "subtotal": amounts,
        "tax_total": amounts,
        "total": amounts,
        "dealer_code": st.sampled_from(["DLR001", "", "NOPE"]),
        "lines": st.lists(line, min_size=0, max_size=3),
    }
)


def test_malformed_portal_orders_are_rejected_with_reasons_and_none_is_lost(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    init_portal(engine)
    portal = SqlPortal(engine, "Asia/Kolkata")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(order, min_size=1, max_size=5))
    def check(orders):
        with engine.begin() as connection:
            connection.execute(delete(schema.order_lines))
            connection.execute(delete(schema.orders))
            for n, o in enumerate(orders):
                oid = f"O{n}"
                connection.execute(
                    insert(schema.orders).values(
                        id=oid, number=f"N{n}", dealer_code=o["dealer_code"], status=o["status"],
                        currency=o["currency"], subtotal=o["subtotal"], tax_total=o["tax_total"],
                        total=o["total"], placed_at=NOW, confirmed_at=NOW, updated_at=NOW, version=1,
                    )
                )
                seen = set()
                for ln in o["lines"]:
                    if ln["line_no"] in seen:
                        continue
                    seen.add(ln["line_no"])
                    connection.execute(insert(schema.order_lines).values(order_id=oid, **ln))
        good, bad = portal.orders()
        assert len(good) + len(bad) == len(orders)  # conservation at the reader
        for reject in bad:
            assert reject.reason and reject.payload["id"] == reject.key

    check()
    engine.dispose()


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["2026-11-22", "2026-11-22T10:15:02+0530", "12.50", "NaN", "1e999", "-0"]),
)


def payload(fields: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from(fields), json_scalar, max_size=len(fields))


INVOICE_FIELDS = ["invoice_id", "invoice_number", "customer_id", "status", "date", "due_date",
                  "currency_code", "sub_total", "tax_total", "total", "balance", "last_modified_time"]
PAYMENT_FIELDS = ["payment_id", "customer_id", "amount", "date", "currency_code", "last_modified_time"]
NOTE_FIELDS = ["creditnote_id", "creditnote_number", "customer_id", "status", "date", "total", "balance",
               "last_modified_time"]
ITEM_FIELDS = ["item_id", "name", "sku", "status", "tax_percentage", "last_modified_time", "locations"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        payload(INVOICE_FIELDS).map(lambda p: (ZohoInvoice, p)),
        payload(PAYMENT_FIELDS).map(lambda p: (ZohoPayment, p)),
        payload(NOTE_FIELDS).map(lambda p: (ZohoCreditNote, p)),
        payload(ITEM_FIELDS).map(lambda p: (ZohoItem, p)),
    )
)
def test_vendor_payloads_of_any_shape_become_models_or_validation_errors(case):
    """The readers may refuse a payload, but only with a ValidationError the task quarantines."""
    model, data = case
    try:
        record = model.model_validate(data)
        if isinstance(record, ZohoItem):
            record.canonical()
            record.stock_levels(NOW)
        else:
            record.canonical("DLR001")
    except ValidationError as exc:
        assert exc.errors()  # a reason exists for the quarantine row
