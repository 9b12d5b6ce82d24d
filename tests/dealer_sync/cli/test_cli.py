import json
import os

import pytest
from typer.testing import CliRunner

from dealer_sync.cli import app
from dealer_sync.cli.common import EPHEMERAL_SERVER_STARTUP_SECONDS, patient_ephemeral_server
from dealer_sync.store import QuarantineItem, SyncStore

runner = CliRunner()


@pytest.fixture
def env(db_url, tmp_path, monkeypatch):
    """Point the CLI at a fresh store (SQLite or PostgreSQL) and a fresh SQLite portal."""
    for name in list(os.environ):
        if name.startswith("DEALER_SYNC_") and name != "DEALER_SYNC_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEALER_SYNC_STORE_URL", db_url)
    monkeypatch.setenv("DEALER_SYNC_PORTAL_URL", f"sqlite:///{tmp_path / 'portal.db'}")
    return db_url


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_every_command_has_help():
    for args in (
        [], ["db"], ["db", "upgrade"], ["db", "downgrade"], ["db", "current"], ["portal"],
        ["portal", "init"], ["status"], ["quarantine"], ["quarantine", "list"],
        ["quarantine", "show"], ["demo"], ["sandbox"], ["sandbox", "up"], ["run"],
        ["run", "order-to-invoice"], ["run", "inventory-refresh"], ["run", "invoice-payment-pullback"],
        ["tally"], ["tally", "write-import"],
    ):
        result = invoke(*args, "--help")
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_status_before_migration_says_what_to_run(env):
    result = invoke("status")
    assert result.exit_code == 1
    assert "dealer-sync db upgrade" in result.output


def test_upgrade_init_and_status(env):
    assert invoke("db", "upgrade").exit_code == 0
    assert "created 12 tables" in invoke("portal", "init").output
    assert "already initialised" in invoke("portal", "init").output
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["store"]["revision"] == "0001"
    assert data["portal"]["initialised"] is True
    assert data["portal"]["counts"]["orders"] == 0
    assert "revision 0001" in invoke("status").output


def test_downgrade_and_current(env):
    invoke("db", "upgrade")
    assert "current: 0001" in invoke("db", "current").output
    assert "base" in invoke("db", "downgrade", "base").output
    assert "current: base" in invoke("db", "current").output


def test_quarantine_list_and_show(env):
    invoke("db", "upgrade")
    store = SyncStore.open(env)
    [record_id] = store.quarantine.add(
        "order_to_invoice",
        "run-1",
        [QuarantineItem("order", "ORD-9", {"sku": "GONE-1"}, "unknown SKU GONE-1", "sku mapped")],
    )
    store.close()

    listing = invoke("quarantine", "list")
    assert listing.exit_code == 0
    assert "ORD-9" in listing.output and "unknown SKU GONE-1" in listing.output
    assert json.loads(invoke("quarantine", "list", "--json").output)[0]["entity_key"] == "ORD-9"
    assert "no quarantined records" in invoke("quarantine", "list", "--flow", "other").output

    shown = invoke("quarantine", "show", str(record_id))
    assert "GONE-1" in shown.output and "sku mapped" in shown.output
    assert json.loads(invoke("quarantine", "show", str(record_id), "--json").output)["payload"] == {
        "sku": "GONE-1"
    }
    missing = invoke("quarantine", "show", "999999")
    assert missing.exit_code == 1 and "no quarantine record 999999" in missing.output
    bad = invoke("quarantine", "list", "--status", "closed")
    assert bad.exit_code == 2 and "--status must be" in bad.output


def test_invalid_settings_exit_with_the_problem_named(env, monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_BASE_CURRENCY", "rupees")
    result = invoke("status")
    assert result.exit_code == 2
    assert "base_currency" in result.output


def test_demo_runs_the_cycle_and_reports_json(env, prefect_api, tmp_path, monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path / "data"))
    result = invoke("demo", "--json", "--orders", "8", "--seed", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert [f["flow"] for f in data["flows"]][:3] == [
        "inventory_refresh", "order_to_invoice", "invoice_payment_pullback",
    ]
    assert data["new_documents_on_second_pass"] == 0
    assert data["store_url"].endswith("store.db")
    assert data["accounting_target"] == "zoho_books"


def test_demo_runs_against_the_ledger_it_is_given(env, prefect_api, tmp_path, monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path / "data"))
    result = invoke("demo", "--json", "--orders", "8", "--seed", "3", "--target", "xero")
    assert result.exit_code == 0, result.output
    # The JSON document first; Prefect may log after it (its handler outlives one CliRunner).
    data, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{"):])
    assert data["accounting_target"] == "xero"
    posted = next(f for f in data["flows"] if f["flow"] == "order_to_invoice")
    assert posted["synced"] > 0 and data["documents_in_simulators"]["invoices"] == posted["synced"]
    assert data["new_documents_on_second_pass"] == 0
    assert invoke("demo", "--target", "sage").exit_code == 2  # not a target: refused by name


def test_run_validates_the_window_before_any_flow_starts(env):
    for args, message in (
        (["--since", "yesterday"], "not an ISO 8601"),
        (["--since", "2026-11-01T00:00:00"], "no timezone offset"),
        (["--since", "2999-01-01T00:00:00Z"], "in the future"),
        (["--since", "2026-11-02T00:00:00Z", "--until", "2026-11-01T00:00:00Z"], "must be before"),
    ):
        result = invoke("run", "order-to-invoice", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output


def test_commands_wait_longer_for_prefects_temporary_server_unless_told_otherwise(monkeypatch):
    """Prefect gives its temporary server 20 s to start; on a busy two-core machine `make demo` failed
    there before any flow ran. A value the user set is kept."""
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    with patient_ephemeral_server():
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == EPHEMERAL_SERVER_STARTUP_SECONDS
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "33")
    with patient_ephemeral_server():
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() != EPHEMERAL_SERVER_STARTUP_SECONDS
