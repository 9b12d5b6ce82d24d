import json
from pathlib import Path

from typer.testing import CliRunner

from dealer_sync.cli import app
from sandbox.network import NetworkSpec


def test_run_order_to_invoice_for_one_order_posts_just_that_order(world_factory):
    world = world_factory(NetworkSpec(seed=51, orders=10, bad_share=0.0))
    target = world.network.orders[4]
    result = CliRunner().invoke(app, ["run", "order-to-invoice", "--order-id", target.id, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert (summary["in"], summary["synced"]) == (1, 1)
    assert [i.reference_number for i in world.sandbox.books.state.list_invoices()] == [target.number]


def test_run_reconciliation_writes_its_report_and_refuses_a_reversed_window(world_factory):
    world_factory(NetworkSpec(seed=52, orders=8, bad_share=0.0))
    runner = CliRunner()
    result = runner.invoke(
        app, ["run", "reconciliation", "--first-day", "2026-11-02", "--last-day", "2026-11-01"]
    )
    assert result.exit_code == 2 and "before --first-day" in result.output
    result = runner.invoke(
        app, ["run", "reconciliation", "--first-day", "2026-11-01", "--no-deliver", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary, _ = json.JSONDecoder().raw_decode(result.output, result.output.index("{"))  # logs follow
    assert summary["window"] == ["2026-11-01", "2026-11-01"]
    assert "delivered" not in summary
    assert Path(summary["report_files"]["csv"]).is_file()
