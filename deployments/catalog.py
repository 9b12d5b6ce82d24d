"""The deployments prefect.yaml declares, by the short flow names operators type.

One table shared by the CLI (backfills, deploy) and the tests that keep prefect.yaml honest: a
deployment renamed in the YAML without this table fails a test instead of a 3 a.m. backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class WindowKind(StrEnum):
    """How a flow takes a window, which decides how a backfill splits it."""

    INSTANTS = "instants"  # since / until, timezone-aware datetimes
    BUSINESS_DAYS = "business_days"  # first_day / last_day, dates in the business timezone
    NONE = "none"  # current state only: nothing to backfill


@dataclass(frozen=True)
class DeploymentSpec:
    flow: str  # short name used on the command line
    flow_name: str  # the @flow(name=...)
    deployment: str  # the deployment's name in prefect.yaml
    entrypoint: str
    window: WindowKind

    @property
    def full_name(self) -> str:
        """``<flow name>/<deployment name>``, as ``prefect deployment run`` and run_deployment take it."""
        return f"{self.flow_name}/{self.deployment}"


WORK_POOL: Final = "dealer-sync"

DEPLOYMENTS: Final[dict[str, DeploymentSpec]] = {
    spec.flow: spec
    for spec in (
        DeploymentSpec(
            "inventory-refresh",
            "inventory-refresh",
            "every-15-minutes",
            "flows/inventory_refresh.py:inventory_refresh",
            WindowKind.NONE,
        ),
        DeploymentSpec(
            "order-to-invoice",
            "order-to-invoice",
            "hourly-business-hours",
            "flows/order_to_invoice.py:order_to_invoice",
            WindowKind.INSTANTS,
        ),
        DeploymentSpec(
            "invoice-payment-pullback",
            "invoice-payment-pullback",
            "hourly",
            "flows/invoice_payment_pullback.py:invoice_payment_pullback",
            WindowKind.INSTANTS,
        ),
        DeploymentSpec(
            "reconciliation",
            "nightly-reconciliation",
            "nightly",
            "flows/reconciliation.py:reconciliation",
            WindowKind.BUSINESS_DAYS,
        ),
    )
}


def spec_for(flow: str) -> DeploymentSpec:
    """The deployment of a flow by its short name; a clear error lists the valid names."""
    try:
        return DEPLOYMENTS[flow]
    except KeyError:
        raise KeyError(f"unknown flow {flow!r}; choose one of: {', '.join(DEPLOYMENTS)}") from None
