"""Incremental-pull cursors per (flow, system, entity)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dealer_sync.store.schema import Cursor


class Cursors:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, flow: str, system: str, entity: str) -> str | None:
        with Session(self._engine) as session:
            row = session.get(Cursor, (flow, system, entity))
            return row.value if row is not None else None

    def set(self, flow: str, system: str, entity: str, value: str, run_id: str | None = None) -> None:
        with Session(self._engine) as session, session.begin():
            row = session.get(Cursor, (flow, system, entity))
            if row is None:
                session.add(Cursor(flow=flow, system=system, entity=entity, value=value, run_id=run_id))
            else:
                row.value = value
                row.run_id = run_id

    def all(self) -> list[tuple[str, str, str, str]]:
        with Session(self._engine) as session:
            rows = session.scalars(select(Cursor).order_by(Cursor.flow, Cursor.system, Cursor.entity))
            return [(r.flow, r.system, r.entity, r.value) for r in rows]
