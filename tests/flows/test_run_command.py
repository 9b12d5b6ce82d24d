import json

from typer.testing import CliRunner

from dealer_sync.cli import app
from sandbox.network import NetworkSpec


def test_run_order_to_invoice_for_one_order_posts_just_that_order(world_factory):
    world = world_factory(NetworkSpec(seed=51, orders=10, bad_share=0.0))
    target = world.network.orders[4]
    result = CliRunner().invoke(app, ["run", "order-to-invoice", "--order-id", target.id, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert (summary["in"], summary["synced"]) == (1, 1)
    assert [i.reference_number for i in world.sandbox.books.state.list_invoices()] == [target.number]
