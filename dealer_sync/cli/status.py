"""``dealer-sync status``: what the store and the portal hold right now."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from connectors.portal_sql.database import is_initialised, portal_counts
from dealer_sync.cli.common import load_settings, open_store, portal_engine, print_json, redact
from dealer_sync.settings import Settings
from dealer_sync.store import migrate


def collect_status(settings: Settings) -> dict[str, Any]:
    store = open_store(settings)
    portal = portal_engine(settings)
    portal_ready = is_initialised(portal)
    return {
        "store": {
            "url": redact(settings.resolved_store_url()),
            "revision": migrate.current_revision(store.engine),
            "mappings": {f"{k}/{s}": n for (k, s), n in sorted(store.mappings.counts().items())},
            "cursors": [
                {"flow": f, "system": s, "entity": e, "value": v} for f, s, e, v in store.cursors.all()
            ],
            "outbox": store.outbox.counts(),
            "quarantine_open": store.quarantine.count_open(),
            "recent_runs": [
                {
                    "run_id": r.run_id,
                    "flow": r.flow,
                    "status": r.status,
                    "in": r.counts.in_count,
                    "synced": r.counts.synced,
                    "quarantined": r.counts.quarantined,
                    "deferred": r.counts.deferred,
                }
                for r in store.runs.recent(limit=10)
            ],
        },
        "portal": {
            "url": redact(settings.resolved_portal_url()),
            "initialised": portal_ready,
            "counts": portal_counts(portal) if portal_ready else {},
        },
    }


def render_status(data: dict[str, Any]) -> str:
    store, portal = data["store"], data["portal"]
    lines = [
        f"sync store  {store['url']}  (revision {store['revision']})",
        f"  mappings:    {store['mappings'] or 'none'}",
        f"  outbox:      {store['outbox'] or 'empty'}",
        f"  quarantine:  {sum(store['quarantine_open'].values())} open {store['quarantine_open'] or ''}",
        f"  cursors:     {len(store['cursors'])}",
    ]
    lines += [f"    {c['flow']}/{c['system']}/{c['entity']} = {c['value']}" for c in store["cursors"]]
    lines.append(f"  recent runs: {len(store['recent_runs'])}")
    lines += [
        f"    {r['flow']:<26} {r['status']:<10} in {r['in']:>5}  synced {r['synced']:>5}  "
        f"quarantined {r['quarantined']:>4}  deferred {r['deferred']:>4}"
        for r in store["recent_runs"]
    ]
    state = "initialised" if portal["initialised"] else "not initialised (run `dealer-sync portal init`)"
    lines.append(f"portal      {portal['url']}  ({state})")
    counts = portal["counts"]
    lines += [f"  {name:<22} {counts[name]:>6}" for name in sorted(counts)]
    return "\n".join(lines)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show store counts, cursors, quarantine size, recent runs and the portal's contents."""
    data = collect_status(load_settings())
    if as_json:
        print_json(data)
    else:
        typer.echo(render_status(data))
