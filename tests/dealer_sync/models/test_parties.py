import pytest
from pydantic import ValidationError

from dealer_sync.models import Dealer, TaxKind, TaxRegime, TaxTreatment
from dealer_sync.money import Money


def dealer(**extra) -> Dealer:
    fields = {
        "id": "DLR042",
        "name": "Shree Auto Parts",
        "currency": "INR",
        "credit_limit": Money.of("500000", "INR"),
        "state": "MH",
        "tax_registration": "27AAAAA0000A1Z5",
    }
    fields.update(extra)
    return Dealer(**fields)


def test_a_dealer_with_a_valid_gstin_is_accepted_and_ids_are_trimmed():
    assert dealer(id="  DLR042 ").id == "DLR042"


def test_an_indian_dealer_needs_a_well_formed_gstin():
    with pytest.raises(ValidationError, match="'27AAAAA0000A1Z' is not a valid 15-character GSTIN"):
        dealer(tax_registration="27AAAAA0000A1Z")
    # outside India the registration is a VAT number with its own format
    assert dealer(country="DE", tax_registration="DE123456789").tax_registration == "DE123456789"


def test_credit_limit_is_in_the_dealer_currency_and_not_negative():
    with pytest.raises(ValidationError, match="credit limit is in USD but the dealer trades in INR"):
        dealer(credit_limit=Money.of("1", "USD"))
    with pytest.raises(ValidationError, match="cannot be negative"):
        dealer(credit_limit=Money.of("-1", "INR"))


def test_tax_treatment_kinds_belong_to_their_regime():
    assert TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTER_STATE, place_of_supply="KA")
    with pytest.raises(ValidationError, match="reverse_charge does not exist under gst"):
        TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.REVERSE_CHARGE)
    with pytest.raises(ValidationError, match="needs a place of supply"):
        TaxTreatment(regime=TaxRegime.GST, kind=TaxKind.INTRA_STATE)
