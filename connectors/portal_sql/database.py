"""Creating and inspecting the embedded portal database."""

from __future__ import annotations

from sqlalchemy import Engine, func, inspect, select

from connectors.portal_sql import schema


def init_portal(engine: Engine) -> list[str]:
    """Create the portal's tables if they are missing; return the names of those created."""
    existing = set(inspect(engine).get_table_names())
    schema.metadata.create_all(engine)
    return [name for name in schema.TABLES if name not in existing]


def is_initialised(engine: Engine) -> bool:
    return set(schema.TABLES) <= set(inspect(engine).get_table_names())


def portal_counts(engine: Engine) -> dict[str, int]:
    """Row counts per portal table, plus orders per status."""
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            counts[table.name] = int(connection.scalar(select(func.count()).select_from(table)) or 0)
        for status, count in connection.execute(
            select(schema.orders.c.status, func.count()).group_by(schema.orders.c.status)
        ):
            counts[f"orders.{status}"] = int(count)
    return counts
