from decimal import Decimal

import pytest

from dealer_sync.models import Dealer, TaxKind, TaxRegime
from dealer_sync.money import Money
from dealer_sync.tax import line_tax, tax_key, tax_lines, treatment_for


def dealer(state: str | None = "MH", country: str = "IN") -> Dealer:
    return Dealer(
        id="D1", name="D", currency="INR", credit_limit=Money.of("1", "INR"), state=state, country=country
    )


def test_same_state_is_intra_state_cgst_plus_sgst():
    treatment = treatment_for(dealer("MH"), home_state="MH")
    assert (treatment.kind, treatment.place_of_supply) == (TaxKind.INTRA_STATE, "MH")
    lines = tax_lines(Money.of("5800", "INR"), Decimal(18), treatment)
    assert [(t.name, t.rate, t.amount) for t in lines] == [
        ("CGST", Decimal(9), Money.of("522", "INR")),
        ("SGST", Decimal(9), Money.of("522", "INR")),
    ]


def test_other_state_is_inter_state_igst():
    treatment = treatment_for(dealer("KA"), home_state="MH")
    assert treatment.kind is TaxKind.INTER_STATE
    [igst] = tax_lines(Money.of("5800", "INR"), Decimal(18), treatment)
    assert (igst.name, igst.amount) == ("IGST", Money.of("1044", "INR"))


def test_halves_rounded_separately_can_differ_by_a_paisa_from_the_whole():
    amount = Money.of("0.50", "INR")  # 9% = 0.045 -> 0.05 twice; 18% = 0.09
    intra = treatment_for(dealer("MH"), home_state="MH")
    inter = treatment_for(dealer("KA"), home_state="MH")
    assert line_tax(amount, Decimal(18), intra) == Money.of("0.10", "INR")
    assert line_tax(amount, Decimal(18), inter) == Money.of("0.09", "INR")


def test_exports_are_zero_rated_and_a_missing_state_is_an_error():
    assert treatment_for(dealer(country="AE"), home_state="MH").kind is TaxKind.ZERO_RATED
    assert tax_lines(Money.of("100", "INR"), Decimal(18), treatment_for(dealer(country="AE"), "MH")) == ()
    with pytest.raises(ValueError, match="no state"):
        treatment_for(dealer(state=None), home_state="MH")


def test_outside_india_the_regime_is_vat():
    treatment = treatment_for(dealer(state=None, country="DE"), home_state="BE", home_country="DE")
    assert treatment.regime is TaxRegime.VAT
    [vat] = tax_lines(Money.of("100", "EUR"), Decimal(19), treatment)
    assert (vat.name, vat.amount) == ("VAT", Money.of("19", "EUR"))


def test_tax_keys_name_regime_kind_and_rate():
    treatment = treatment_for(dealer("MH"), home_state="MH")
    assert tax_key(treatment, Decimal("18.00")) == "gst:intra_state:18"
    assert tax_key(treatment, Decimal("0.25")) == "gst:intra_state:0.25"
