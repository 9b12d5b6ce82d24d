"""Invoice/payment pullback: invoices, payments and credit notes -> each dealer's account."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.alerts import alert_ops
from flows.common import recorded_run, scheduled_cutoff
from tasks.pullback import (
    FLOW,
    pull_credit_notes,
    pull_invoices,
    pull_payments,
    update_dealer_accounts,
)


@flow(
    name="invoice-payment-pullback", task_runner=ThreadPoolTaskRunner(max_workers=3), on_failure=[alert_ops]
)
def invoice_payment_pullback(
    since: datetime | None = None,
    until: datetime | None = None,
    lookback_minutes: int = 10,
) -> dict[str, object]:
    """Copy ledger documents changed since each entity's cursor into the portal, then positions.

    With an explicit window (a backfill) the cursors are left where they are.
    """
    backfill = since is not None or until is not None
    if not backfill:
        until = scheduled_cutoff()
    with recorded_run(FLOW, since=since, until=until, parameters={"lookback": lookback_minutes}) as run:
        env = run.env
        pulls = {"invoice": pull_invoices, "payment": pull_payments, "credit_note": pull_credit_notes}
        futures = {}
        for entity, pull in pulls.items():
            start = since
            cursor = env.store.cursors.get(FLOW, env.ledger, entity)
            if start is None and cursor:
                start = datetime.fromisoformat(cursor) - timedelta(minutes=lookback_minutes)
            futures[entity] = pull.submit(env, run.run_id, start, until)
        dealers: set[str] = set()
        for entity, future in futures.items():
            try:
                pulled = future.result()
            except Exception as exc:
                run.outcomes.batch_errors.append(f"{entity}: {type(exc).__name__}: {exc}")
                continue
            run.outcomes.took_in(entity, pulled.read)
            run.outcomes.synced(entity, pulled.synced)
            run.outcomes.quarantined(pulled.quarantined)
            dealers |= pulled.dealers
            if pulled.newest is not None and not backfill:
                env.store.cursors.set(FLOW, env.ledger, entity, pulled.newest.isoformat(), run.run_id)
        update_dealer_accounts(env, sorted(dealers))
        return run.summary()
