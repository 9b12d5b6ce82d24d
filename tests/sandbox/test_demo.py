from sandbox.demo import run_demo
from sandbox.network import NetworkSpec


def test_the_demo_syncs_all_three_flows_and_a_second_pass_writes_nothing(tmp_path, prefect_api):
    result = run_demo(tmp_path / "demo", NetworkSpec(seed=5, orders=20, bad_share=0.2))
    by_flow = {}
    for summary in result.flows:
        by_flow.setdefault(summary["flow"], summary)
    assert set(by_flow) == {"inventory_refresh", "order_to_invoice", "invoice_payment_pullback"}
    assert all(s["synced"] > 0 for s in by_flow.values())
    assert by_flow["order_to_invoice"]["quarantined"] == 4
    assert result.new_documents_on_second_pass == 0
    assert result.second_pass["synced"] == 0
    assert result.documents["invoices"] == by_flow["order_to_invoice"]["synced"]
    assert (tmp_path / "demo" / "store.db").exists()
