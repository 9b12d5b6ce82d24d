"""Tax at the integration layer: which treatment applies and what each component comes to."""

from __future__ import annotations

from decimal import Decimal

from dealer_sync.models import Dealer, TaxKind, TaxLine, TaxRegime, TaxTreatment
from dealer_sync.money import Money, total


def treatment_for(dealer: Dealer, home_state: str, home_country: str = "IN") -> TaxTreatment:
    """GST for Indian dealers (intra-state when the dealer is in the seller's state), VAT elsewhere."""
    if dealer.country != home_country:  # exports are zero-rated under either regime
        regime = TaxRegime.GST if home_country == "IN" else TaxRegime.VAT
        return TaxTreatment(regime=regime, kind=TaxKind.ZERO_RATED)
    if home_country != "IN":
        return TaxTreatment(regime=TaxRegime.VAT, kind=TaxKind.STANDARD)
    if not dealer.state:
        raise ValueError(f"dealer {dealer.id} has no state: the GST place of supply is unknown")
    kind = TaxKind.INTRA_STATE if dealer.state == home_state else TaxKind.INTER_STATE
    return TaxTreatment(regime=TaxRegime.GST, kind=kind, place_of_supply=dealer.state)


def tax_lines(amount: Money, rate: Decimal, treatment: TaxTreatment) -> tuple[TaxLine, ...]:
    """The tax components of one line, each rounded half-up on its own, as GST invoices do.

    Intra-state GST splits the rate into CGST and SGST halves; each half is rounded separately,
    so their sum can differ by one paisa from the full rate rounded once.
    """
    if treatment.kind in (TaxKind.ZERO_RATED, TaxKind.EXEMPT, TaxKind.REVERSE_CHARGE) or rate == 0:
        return ()
    if treatment.regime is TaxRegime.GST and treatment.kind is TaxKind.INTRA_STATE:
        half = rate / 2
        return (
            TaxLine(name="CGST", rate=half, amount=amount.percent(half)),
            TaxLine(name="SGST", rate=half, amount=amount.percent(half)),
        )
    name = "IGST" if treatment.regime is TaxRegime.GST else "VAT"
    return (TaxLine(name=name, rate=rate, amount=amount.percent(rate)),)


def line_tax(amount: Money, rate: Decimal, treatment: TaxTreatment) -> Money:
    return total([t.amount for t in tax_lines(amount, rate, treatment)], amount.currency)


def tax_key(treatment: TaxTreatment, rate: Decimal) -> str:
    """The key of a tax in the mapping tables: ``gst:intra_state:18``."""
    return f"{treatment.regime.value}:{treatment.kind.value}:{rate.normalize():f}"
