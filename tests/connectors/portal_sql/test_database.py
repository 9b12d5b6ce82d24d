from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, inspect, select

from connectors.portal_sql import schema
from connectors.portal_sql.database import init_portal, is_initialised, portal_counts
from dealer_sync.db import make_engine


def test_init_creates_the_portal_tables_once(db_url):
    engine = make_engine(db_url)
    assert not is_initialised(engine)
    created = init_portal(engine)
    assert set(created) == set(schema.TABLES)
    assert is_initialised(engine)
    assert init_portal(engine) == []
    assert {"dealers", "orders", "order_lines", "availability", "dealer_accounts"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_amounts_round_trip_exactly_and_times_come_back_in_utc(db_url):
    engine = make_engine(db_url)
    init_portal(engine)
    now = datetime(2026, 11, 22, 4, 45, tzinfo=UTC)
    big = Decimal("123456789012.345678")
    with engine.begin() as connection:
        connection.execute(
            insert(schema.catalog_items).values(
                sku="BP-220", name="Brake Pad Set", tax_rate=Decimal("18"), updated_at=now
            )
        )
        connection.execute(
            insert(schema.availability).values(
                sku="BP-220", warehouse_code="PUNE", on_hand=big, committed=Decimal("0.1"),
                reserved=Decimal("0.2"), available=big - Decimal("0.3"), updated_at=now,
            )
        )
    with engine.connect() as connection:
        row = connection.execute(select(schema.availability)).mappings().one()
    assert row["on_hand"] == big
    assert row["committed"] + row["reserved"] == Decimal("0.3")  # no float drift
    assert row["updated_at"] == now and row["updated_at"].tzinfo is not None
    assert portal_counts(engine)["availability"] == 1
    engine.dispose()
