from decimal import Decimal

import pytest
from pydantic import ValidationError

from dealer_sync.money import CurrencyMismatchError, Money, minor_unit_exponent, total


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("10.005", "INR", Decimal("10.01")),  # half-up, not banker's rounding
        ("10.004", "INR", Decimal("10.00")),
        ("-10.005", "INR", Decimal("-10.01")),
        ("100.5", "JPY", Decimal("101")),
        ("1.2345", "KWD", Decimal("1.235")),
        ("7", "EUR", Decimal("7.00")),
    ],
)
def test_amounts_are_rounded_half_up_to_the_currency_minor_unit(amount, currency, expected):
    money = Money.of(amount, currency)
    assert money.amount == expected
    assert str(money.amount) == str(expected)


def test_floats_are_refused_because_they_have_already_lost_cents():
    with pytest.raises(ValidationError, match="float 0.1 is not accepted"):
        Money(amount=0.1, currency="INR")


@pytest.mark.parametrize("bad", ["inr", "RUPEE", "IN", "12A"])
def test_currency_must_be_a_three_letter_code(bad):
    with pytest.raises(ValidationError, match="three-letter ISO 4217"):
        Money.of("1", bad)


def test_non_numeric_and_infinite_amounts_are_refused():
    with pytest.raises(ValidationError, match="not a number"):
        Money(amount="ten", currency="INR")
    with pytest.raises(ValidationError, match="not a finite number"):
        Money(amount="Infinity", currency="INR")


def test_arithmetic_keeps_the_currency_and_refuses_to_mix():
    assert Money.of("1.10", "INR") + Money.of("2.25", "INR") == Money.of("3.35", "INR")
    assert Money.of("5", "INR") - Money.of("7.5", "INR") == Money.of("-2.50", "INR")
    with pytest.raises(CurrencyMismatchError, match="INR with USD"):
        Money.of("1", "INR") + Money.of("1", "USD")
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "INR") < Money.of("1", "USD")


def test_line_amount_and_tax_round_once_half_up():
    unit = Money.of("33.33", "INR")
    assert unit.times(3) == Money.of("99.99", "INR")
    assert Money.of("0.05", "INR").percent(9) == Money.of("0.00", "INR")  # 0.0045 -> 0.00
    assert Money.of("0.50", "INR").percent(9) == Money.of("0.05", "INR")  # 0.045 -> 0.05
    assert Money.of("1450", "INR").times(4).percent(18) == Money.of("1044.00", "INR")


def test_minor_units_are_exact_integers():
    assert Money.of("6844.00", "INR").minor_units == 684400
    assert Money.of("-0.01", "INR").minor_units == -1
    assert Money.of("1500", "JPY").minor_units == 1500
    assert Money.from_minor(1235, "KWD") == Money.of("1.235", "KWD")
    assert minor_unit_exponent("USD") == 2


def test_total_of_nothing_is_zero_and_money_is_immutable():
    assert total([], "INR") == Money.zero("INR")
    money = Money.of("1", "INR")
    with pytest.raises(ValidationError):
        money.amount = Decimal(2)
