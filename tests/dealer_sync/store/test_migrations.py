from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dealer_sync.db import make_engine
from dealer_sync.store import SyncStore, migrate
from dealer_sync.store.schema import Base

STORE_TABLES = {
    "mappings", "cursors", "outbox", "quarantine", "run_log", "audit_log",
    "recon_snapshots", "recon_snapshot_rows", "recon_findings",
}


def test_upgrade_creates_every_table_and_downgrade_removes_them(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= STORE_TABLES
    assert migrate.is_current(engine)

    migrate.downgrade(engine, "base")
    assert not STORE_TABLES & set(inspect(engine).get_table_names())
    assert migrate.current_revision(engine) is None

    migrate.upgrade(engine)  # and up again, as after a rollback of a bad release
    assert migrate.is_current(engine)
    engine.dispose()


def test_the_migrations_build_exactly_the_schema_the_code_declares(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_constraint_names_follow_the_naming_convention(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    inspector = inspect(engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("mappings")}
    assert "uq_mappings_kind_system_source_key" in uniques
    engine.dispose()


def test_opening_an_unmigrated_store_says_what_to_run(db_url):
    import pytest

    from dealer_sync.store import StoreNotMigratedError

    with pytest.raises(StoreNotMigratedError, match="dealer-sync db upgrade"):
        SyncStore.open(db_url)
