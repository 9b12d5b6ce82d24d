"""``dealer-sync backfill``: bad input refused before Prefect is asked; runs created once on a real API."""

import json
import os
import socket
from dataclasses import replace
from datetime import date, timedelta

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from dealer_sync.cli import app
from dealer_sync.timeutil import business_date, business_day_bounds, utcnow
from deployments.catalog import DEPLOYMENTS

TZ = "Asia/Kolkata"
runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings from a clean environment: the business timezone is Kolkata."""
    for name in list(os.environ):
        if name.startswith("DEALER_SYNC_") and name != "DEALER_SYNC_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEALER_SYNC_BUSINESS_TIMEZONE", TZ)


def invoke(*args: str):
    return runner.invoke(app, ["backfill", *args])


def day(days_ago: int) -> date:
    return business_date(utcnow(), TZ) - timedelta(days=days_ago)


def window(first_days_ago: int, until_days_ago: int) -> list[str]:
    return ["--since", str(day(first_days_ago)), "--until", str(day(until_days_ago))]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def lines_with(output: str, word: str) -> list[str]:
    return [line for line in output.splitlines() if f"  {word}" in line]


# -- refused before anything is contacted ----------------------------------------------------------


def test_help_says_until_is_exclusive_and_names_the_flows():
    result = runner.invoke(app, ["backfill", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "EXCLUSIVE" in result.output
    assert "reconciliation" in result.output and "--generation" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["order-to-invoice", "--since", "2026-11-01T00:00", "--until", "2026-11-02"],
            "has no timezone offset",
        ),
        (
            ["order-to-invoice", "--since", "yesterday", "--until", "2026-11-02"],
            "is not an ISO 8601 date-time",
        ),
        (
            ["order-to-invoice", "--since", "2026-11-01", "--until", "2999-01-01"],
            "--until 2999-01-01 is in the future",
        ),
        (
            ["order-to-invoice", "--since", "2026-11-01", "--until", "2999-01-01T00:00Z"],
            "is in the future",
        ),
        (
            ["order-to-invoice", "--since", "2026-11-02", "--until", "2026-11-01"],
            "--since must be before --until",
        ),
        (["order-to-invoice", "--since", "2026-11-01", "--until", "2026-11-02", "--chunk", "0h"], "is zero"),
        (
            ["order-to-invoice", "--since", "2026-11-01", "--until", "2026-11-02", "--chunk", "1w"],
            "<N>m, <N>h or <N>d",
        ),
        (
            ["order-to-invoice", "--since", "2020-01-01", "--until", "2026-11-01", "--chunk", "1h"],
            "bigger --chunk",
        ),
        (
            ["reconciliation", "--since", "2026-11-01T10:00+05:30", "--until", "2026-11-02"],
            "start of a business day",
        ),
        (
            ["reconciliation", "--since", "2026-11-01", "--until", "2026-11-02", "--chunk", "6h"],
            "--chunk in days",
        ),
        (
            ["inventory-refresh", "--since", "2026-11-01", "--until", "2026-11-02"],
            "run inventory-refresh --full",
        ),
        (["stock", "--since", "2026-11-01", "--until", "2026-11-02"], "unknown flow 'stock'; choose one of"),
    ],
)
def test_bad_input_exits_2_with_the_reason_on_stderr(env, args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_a_dry_run_prints_the_plan_and_contacts_nothing(env):
    with temporary_settings(updates={PREFECT_API_URL: closed_port_url()}):
        result = invoke(
            "reconciliation", "--since", "2026-11-01", "--until", "2026-11-08", "--chunk", "3d", "--dry-run"
        )
        as_json = invoke(
            "reconciliation", "--since", "2026-11-01", "--until", "2026-11-08", "--dry-run", "--json"
        )
    assert result.exit_code == 0, result.output
    key = "backfill:nightly-reconciliation/nightly"
    assert result.stdout.splitlines() == [
        f"[1/3] 2026-11-01 .. 2026-11-04  planned  {key}:2026-11-01..2026-11-03:g1",
        f"[2/3] 2026-11-04 .. 2026-11-07  planned  {key}:2026-11-04..2026-11-06:g1",
        f"[3/3] 2026-11-07 .. 2026-11-08  planned  {key}:2026-11-07..2026-11-07:g1",
        "dry run: 3 runs of nightly-reconciliation/nightly (generation 1); nothing was submitted",
    ]
    plan = json.loads(as_json.stdout)
    assert plan["dry_run"] is True and plan["chunks"] == 7
    assert plan["runs"][6]["parameters"] == {
        "first_day": "2026-11-07",
        "last_day": "2026-11-07",
        "deliver": False,
    }


def test_an_unreachable_api_is_named_with_what_to_do(env):
    url = closed_port_url()
    with temporary_settings(updates={PREFECT_API_URL: url}):
        result = invoke("order-to-invoice", *window(5, 4))
    assert result.exit_code == 1
    assert f"cannot reach the Prefect API at {url}" in result.stderr
    assert "PREFECT_API_URL" in result.stderr
    assert "Traceback" not in result.output


def test_without_an_api_url_it_refuses_rather_than_start_a_throwaway_server(env):
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = invoke("order-to-invoice", *window(5, 4))
    assert result.exit_code == 1
    assert "PREFECT_API_URL is not set" in result.stderr


# -- against a real Prefect API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(prefect_api):
    """The order-to-invoice and reconciliation deployments, from the real flows, without a work pool."""
    from flows.order_to_invoice import order_to_invoice
    from flows.reconciliation import reconciliation

    return {
        flow: fn.to_deployment(name=DEPLOYMENTS[flow].deployment).apply()
        for flow, fn in (("order-to-invoice", order_to_invoice), ("reconciliation", reconciliation))
    }


def read_runs(ids):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return [client.read_flow_run(run_id) for run_id in ids]


def count_runs(deployment_id, keys) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterIdempotencyKey,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(idempotency_key=FlowRunFilterIdempotencyKey(any_=list(keys))),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            sort=FlowRunSort.ID_DESC,  # the sync client sends null sort/limit otherwise, and the API refuses
            limit=200,
        )
    return len(runs)


def test_a_backfill_creates_each_run_once_and_again_only_for_a_new_generation(env, deployed):
    args = ["order-to-invoice", *window(40, 37)]

    first = invoke(*args, "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)  # progress lines went to stderr
    assert (summary["chunks"], summary["created"], summary["existing"]) == (3, 3, 0)
    assert len(lines_with(first.stderr, "created")) == 3
    ids = [r["flow_run_id"] for r in summary["runs"]]
    keys = [r["idempotency_key"] for r in summary["runs"]]
    runs = read_runs(ids)
    for n, run in enumerate(runs):
        start, end = business_day_bounds(day(40 - n), TZ)
        assert run.deployment_id == deployed["order-to-invoice"]
        assert run.parameters == {"since": start.isoformat(), "until": end.isoformat()}
        assert {"backfill", "generation-1"} <= set(run.tags)
        assert run.idempotency_key == keys[n]
        assert run.state is not None and run.state.name == "Scheduled"  # no worker: they wait

    second = invoke(*args)
    assert second.exit_code == 0, second.output
    existing = lines_with(second.stdout, "already exists")
    assert [line.split()[-2] for line in existing] == ids  # "... <id> (Scheduled)"
    assert existing[0].startswith(f"[1/3] {day(40)}T00:00+05:30 .. {day(39)}T00:00+05:30  already exists")
    assert "created 0, existing 3" in second.stdout
    assert count_runs(deployed["order-to-invoice"], keys) == 3

    third = invoke(*args, "--generation", "2", "--json")
    assert third.exit_code == 0, third.output
    again = json.loads(third.stdout)
    assert (again["created"], again["existing"], again["generation"]) == (3, 0, 2)
    assert set(again_ids := [r["flow_run_id"] for r in again["runs"]]).isdisjoint(ids)
    assert all("generation-2" in run.tags for run in read_runs(again_ids))

    # A longer window over the same days: the three known chunks exist, the two new ones are created.
    longer = invoke("order-to-invoice", *window(40, 35), "--json")
    assert longer.exit_code == 0, longer.output
    outcomes = [r["outcome"] for r in json.loads(longer.stdout)["runs"]]
    assert outcomes == ["already exists"] * 3 + ["created"] * 2


def test_a_reconciliation_backfill_runs_whole_days(env, deployed):
    first = invoke("reconciliation", *window(20, 17), "--chunk", "2d")
    assert first.exit_code == 0, first.output
    assert "created 2, existing 0" in first.stdout
    created = lines_with(first.stdout, "created")
    assert created[0].startswith(f"[1/2] {day(20)} .. {day(18)}  created")
    runs = read_runs([line.split()[-1] for line in created])
    assert [run.parameters for run in runs] == [
        {"first_day": str(day(20)), "last_day": str(day(19)), "deliver": False},
        {"first_day": str(day(18)), "last_day": str(day(18)), "deliver": False},
    ]
    again = invoke("reconciliation", *window(20, 17), "--chunk", "2d")
    assert "created 0, existing 2" in again.stdout


def test_a_deployment_not_deployed_yet_says_to_deploy(env, deployed, monkeypatch):
    spec = replace(DEPLOYMENTS["invoice-payment-pullback"], deployment="never-deployed")
    monkeypatch.setitem(DEPLOYMENTS, "invoice-payment-pullback", spec)
    result = invoke("invoice-payment-pullback", *window(5, 4))
    assert result.exit_code == 1
    assert "deployment invoice-payment-pullback/never-deployed does not exist" in result.stderr
    assert "make deploy" in result.stderr
    assert "Traceback" not in result.output


def test_chunk_parameters_are_parameters_of_the_real_flows(deployed):
    import inspect

    from flows.order_to_invoice import order_to_invoice
    from flows.reconciliation import reconciliation

    assert {"since", "until"} <= set(inspect.signature(order_to_invoice.fn).parameters)
    assert {"first_day", "last_day"} <= set(inspect.signature(reconciliation.fn).parameters)
