"""Inventory refresh: stock and available-to-promise per warehouse, inventory system -> portal."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from dealer_sync.timeutil import utcnow
from flows.alerts import alert_ops
from flows.common import chunks, recorded_run
from tasks.inventory_refresh import (
    FLOW,
    SYSTEM,
    fetch_changed_items,
    portal_reservations,
    refresh_stock_batch,
)
from tasks.reporting import Progress


@flow(name="inventory-refresh", task_runner=ThreadPoolTaskRunner(max_workers=4), on_failure=[alert_ops])
def inventory_refresh(
    full: bool = False,
    since: datetime | None = None,
    lookback_minutes: int = 10,
    batch_size: int = 100,
    full_sweep_hours: float = 24.0,
) -> dict[str, object]:
    """Refresh portal availability for items changed since the cursor (all items when ``full``).

    The cursor moves only when every batch succeeded; the lookback re-reads a margin, because
    changes committed around the last run's read may carry a slightly older timestamp. Every
    ``full_sweep_hours`` a run reads everything anyway, which heals what incremental reads miss
    (a stock change some system made without touching the item's modified time).
    """
    started = utcnow()
    with recorded_run(FLOW, since=since, parameters={"full": full, "batch_size": batch_size}) as run:
        env = run.env
        cursor = env.store.cursors.get(FLOW, SYSTEM, "item")
        last_sweep = env.store.cursors.get(FLOW, SYSTEM, "full_sweep")
        sweep_due = last_sweep is None or (
            utcnow() - datetime.fromisoformat(last_sweep) >= timedelta(hours=full_sweep_hours)
        )
        full = full or (since is None and sweep_due)
        start = since
        if start is None and not full and cursor:
            start = datetime.fromisoformat(cursor) - timedelta(minutes=lookback_minutes)
        changed = fetch_changed_items(env, start)
        reserved = portal_reservations(env)
        futures = [
            refresh_stock_batch.submit(env, run.run_id, [c.item_id for c in batch], reserved)
            for batch in chunks(changed, batch_size)
        ]
        progress = Progress(FLOW, len(futures))
        for future in futures:
            progress.advance()
            try:
                result = future.result()
            except Exception as exc:
                run.outcomes.batch_errors.append(f"{type(exc).__name__}: {exc}")
                continue
            run.outcomes.took_in("stock", result.levels_read)
            run.outcomes.synced("stock", result.synced)
            run.outcomes.quarantined(result.quarantined)
        stamps = [c.modified for c in changed if c.modified is not None]
        if not run.outcomes.batch_errors and since is None:
            if stamps:
                env.store.cursors.set(FLOW, SYSTEM, "item", max(stamps).isoformat(), run.run_id)
            if full:
                env.store.cursors.set(FLOW, SYSTEM, "full_sweep", started.isoformat(), run.run_id)
        return run.summary()
