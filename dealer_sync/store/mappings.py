"""Key mappings between systems: dealer <-> customer, SKU <-> item, tax codes, price lists."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dealer_sync.store.schema import Mapping


class MappingKind(StrEnum):
    DEALER_CUSTOMER = "dealer_customer"  # portal dealer code -> customer/contact id in a target
    SKU_ITEM = "sku_item"  # portal SKU -> item id in a target
    TAX_CODE = "tax_code"  # our tax key (e.g. "gst:intra:18") -> tax id/code/ledger in a target
    PRICE_LIST = "price_list"  # portal price list -> price book in a target
    WAREHOUSE = "warehouse"  # inventory warehouse/location id -> portal warehouse code


class Mappings:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(
        self,
        kind: MappingKind,
        system: str,
        source_key: str,
        target_key: str,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.put_many(kind, system, [(source_key, target_key, attributes)])

    def put_many(
        self,
        kind: MappingKind,
        system: str,
        pairs: Iterable[tuple[str, str, dict[str, Any] | None]],
    ) -> None:
        """Insert or update mappings; the last word on a source key wins."""
        with Session(self._engine) as session, session.begin():
            existing = {
                m.source_key: m
                for m in session.scalars(
                    select(Mapping).where(Mapping.kind == kind.value, Mapping.system == system)
                )
            }
            for source_key, target_key, attributes in pairs:
                row = existing.get(source_key)
                if row is None:
                    row = Mapping(
                        kind=kind.value,
                        system=system,
                        source_key=source_key,
                        target_key=target_key,
                        attributes=attributes,
                    )
                    session.add(row)
                    existing[source_key] = row
                else:
                    row.target_key = target_key
                    row.attributes = attributes

    def get(self, kind: MappingKind, system: str, source_key: str) -> str | None:
        with Session(self._engine) as session:
            return session.scalar(
                select(Mapping.target_key).where(
                    Mapping.kind == kind.value, Mapping.system == system, Mapping.source_key == source_key
                )
            )

    def reverse(self, kind: MappingKind, system: str, target_key: str) -> str | None:
        with Session(self._engine) as session:
            return session.scalar(
                select(Mapping.source_key).where(
                    Mapping.kind == kind.value, Mapping.system == system, Mapping.target_key == target_key
                )
            )

    def table(self, kind: MappingKind, system: str) -> dict[str, str]:
        """All mappings of one kind for one system, loaded once per batch (not per record)."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(Mapping.source_key, Mapping.target_key).where(
                    Mapping.kind == kind.value, Mapping.system == system
                )
            ).all()
        return {source: target for source, target in rows}

    def attributes(self, kind: MappingKind, system: str) -> dict[str, dict[str, Any]]:
        with Session(self._engine) as session:
            rows = session.execute(
                select(Mapping.source_key, Mapping.attributes).where(
                    Mapping.kind == kind.value, Mapping.system == system
                )
            ).all()
        return {source: attrs or {} for source, attrs in rows}

    def counts(self) -> dict[tuple[str, str], int]:
        with Session(self._engine) as session:
            rows = session.execute(
                select(Mapping.kind, Mapping.system, func.count()).group_by(Mapping.kind, Mapping.system)
            ).all()
        return {(kind, system): int(count) for kind, system, count in rows}
