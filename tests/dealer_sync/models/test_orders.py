from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from dealer_sync.models import InvalidTransitionError, Order, OrderLine, OrderStatus, TaxLine
from dealer_sync.money import Money

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def inr(amount: str) -> Money:
    return Money.of(amount, "INR")


def line(line_no=1, qty="4", price="1450.00", amount="5800.00", tax="1044.00", **extra) -> OrderLine:
    return OrderLine(
        line_no=line_no,
        sku="BP-220",
        quantity=Decimal(qty),
        unit_price=inr(price),
        amount=inr(amount),
        tax_rate=Decimal(18),
        tax_amount=inr(tax),
        **extra,
    )


def order(lines=None, subtotal="5800.00", tax="1044.00", total="6844.00", **extra) -> Order:
    fields = {
        "id": "ord-1",
        "number": "PORTAL-ORD-8812",
        "dealer_id": "DLR042",
        "status": OrderStatus.CONFIRMED,
        "currency": "INR",
        "lines": lines if lines is not None else (line(),),
        "subtotal": inr(subtotal),
        "tax_total": inr(tax),
        "total": inr(total),
        "placed_at": NOW,
        "confirmed_at": NOW,
        "business_date": date(2026, 11, 22),
        "updated_at": NOW,
    }
    fields.update(extra)
    return Order(**fields)


def test_a_consistent_order_is_accepted():
    o = order()
    assert o.total == inr("6844.00")
    assert o.lines[0].amount == inr("5800")


def test_line_amount_must_be_quantity_times_unit_price():
    with pytest.raises(ValidationError, match=r"line 1 amount is 5800.01 INR .* 5800.00 INR"):
        line(amount="5800.01")


def test_fractional_quantities_round_the_line_amount_half_up():
    ln = line(qty="2.5", price="33.33", amount="83.33", tax="15.00")  # 83.325 -> 83.33
    assert ln.amount == inr("83.33")


def test_tax_lines_must_add_up_to_the_line_tax():
    cgst = TaxLine(name="CGST", rate=Decimal(9), amount=inr("522.00"))
    sgst = TaxLine(name="SGST", rate=Decimal(9), amount=inr("522.00"))
    assert line(tax_lines=(cgst, sgst)).tax_amount == inr("1044")
    with pytest.raises(ValidationError, match="line 1 tax is 1044.00 INR but the parts add up to 1043.00"):
        line(tax_lines=(cgst, sgst.model_copy(update={"amount": inr("521.00")})))


def test_order_totals_must_add_up_and_the_error_gives_the_difference():
    expected = r"subtotal is 5800.00 INR but the parts add up to 11600.00 INR \(difference -5800.00 INR\)"
    with pytest.raises(ValidationError, match=expected):
        order(lines=(line(), line(line_no=2)))  # two lines but the subtotal of one
    with pytest.raises(ValidationError, match=r"total is 6845.00 INR .*difference 1.00 INR"):
        order(total="6845.00")


def test_quantity_must_be_positive_and_never_a_float():
    with pytest.raises(ValidationError, match="greater than 0"):
        line(qty="-1", amount="-1450.00")
    with pytest.raises(ValidationError, match="float"):
        OrderLine(
            line_no=1, sku="X", quantity=1.5, unit_price=inr("1"), amount=inr("1.5"),
            tax_rate=Decimal(0), tax_amount=inr("0"),
        )


def test_an_order_needs_lines_in_its_own_currency():
    with pytest.raises(ValidationError, match="at least 1 item"):
        order(lines=())
    usd_line = OrderLine(
        line_no=1, sku="X", quantity=Decimal(1), unit_price=Money.of("5800", "USD"),
        amount=Money.of("5800", "USD"), tax_rate=Decimal(18), tax_amount=Money.of("1044", "USD"),
    )
    with pytest.raises(ValidationError, match="not in the document currency INR"):
        order(lines=(usd_line,))


def test_duplicate_line_numbers_are_refused():
    with pytest.raises(ValidationError, match="duplicate line numbers"):
        order(lines=(line(), line()), subtotal="11600.00", tax="2088.00", total="13688.00")


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        order(colour="red")


def test_a_confirmed_order_needs_its_confirmation_time():
    with pytest.raises(ValidationError, match="confirmed but has no confirmed_at"):
        order(confirmed_at=None)


def test_lifecycle_allows_forward_moves_and_bumps_the_version():
    confirmed = order()
    invoiced = confirmed.transition(OrderStatus.INVOICED)
    assert invoiced.status is OrderStatus.INVOICED
    assert invoiced.version == confirmed.version + 1
    assert confirmed.status is OrderStatus.CONFIRMED  # immutable: the original is unchanged


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (OrderStatus.INVOICED, OrderStatus.CANCELLED),
        (OrderStatus.CANCELLED, OrderStatus.CONFIRMED),
        (OrderStatus.CONFIRMED, OrderStatus.DRAFT),
    ],
)
def test_lifecycle_refuses_moves_it_does_not_allow(start, target):
    with pytest.raises(InvalidTransitionError, match=f"cannot go from {start.value} to {target.value}"):
        order(status=start).transition(target)
