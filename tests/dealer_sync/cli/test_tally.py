"""`dealer-sync tally write-import`: a window's good orders in one file Tally accepts; nothing else moves."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from lxml import etree
from sqlalchemy import select, update
from typer.testing import CliRunner

from connectors.portal_sql import schema
from connectors.tally.xml import parse_answer
from dealer_sync.cli import app
from dealer_sync.db import make_engine
from sandbox.network import NetworkSpec, OrderSpec

runner = CliRunner()
TZ = ZoneInfo("Asia/Kolkata")  # the settings' default business timezone, which the world keeps
DAY, NEXT_DAY = date(2026, 11, 20), date(2026, 11, 21)
WINDOW = ["--since", "2026-11-20", "--until", "2026-11-21"]


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["tally", "write-import", *args])


def written(*args: str) -> dict[str, Any]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def on(day: date, orders: list[OrderSpec]) -> list[OrderSpec]:
    return [o for o in orders if o.confirmed_at.astimezone(TZ).date() == day]


def remote_ids(path: Path) -> list[str]:
    return [v.get("REMOTEID") for v in etree.fromstring(path.read_bytes()).iter("VOUCHER")]


def import_into_tally(content: bytes) -> etree._Element:
    """POST the file's bytes as they are on disk, as a site's scheduled Tally import would."""
    response = httpx.post(
        os.environ["DEALER_SYNC_TALLY__URL"], content=content, headers={"Content-Type": "text/xml"}, timeout=5
    )
    assert response.status_code == 200
    return parse_answer(response.content, response.headers["content-type"])


def portal_orders(db_url: str) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(schema.orders).order_by(schema.orders.c.id)).mappings()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def test_the_windows_good_orders_become_a_file_tally_imports_once(world_factory, tmp_path):
    world = world_factory(NetworkSpec(seed=91, orders=30, bad_share=0.2), target="tally")
    good = on(DAY, world.network.good_orders)
    bad = {o.id: o for o in on(DAY, world.network.orders) if o.bad is not None}
    later = on(NEXT_DAY, world.network.orders)
    assert good and bad and later  # the window holds good and bad orders, and leaves some out
    portal_before = portal_orders(world.db_url)

    data = written(*WINDOW)

    path = Path(data["path"])
    assert path.parent == tmp_path / "data" / "tally-import" and path.exists()
    expected = sorted(f"INV-{o.number}" for o in good)
    assert remote_ids(path) == expected == data["written"]
    assert (data["vouchers"], data["replaced"]) == (len(good), False)
    assert data["first_day"] == data["last_day"] == "2026-11-20"
    assert {r["order_id"] for r in data["rejected"]} == set(bad)
    assert all(r["reason"] and r["check"] for r in data["rejected"])
    numbers_in_file = {ref.text for ref in etree.fromstring(path.read_bytes()).iter("REFERENCE")}
    assert numbers_in_file == {o.number for o in good}  # no bad order, none of the next day
    # File mode changes nothing else: no quarantine, no outbox, the portal as it was.
    assert world.store.quarantine.list(status=None) == []
    assert world.store.outbox.counts() == {}
    assert portal_orders(world.db_url) == portal_before

    content = path.read_bytes()
    answer = import_into_tally(content)
    assert (answer.findtext("CREATED"), answer.findtext("ERRORS")) == (str(len(good)), "0")
    invoices = world.ledger.invoices()
    assert sorted(i.number for i in invoices) == expected
    totals = {o.number: o.subtotal + o.tax_total for o in good}
    assert {i.reference: i.total for i in invoices} == totals

    again = invoke(*WINDOW)  # the text report this time
    assert again.exit_code == 0, again.output
    assert f"wrote {len(good)} vouchers of 2026-11-20 to {path}" in again.stdout
    assert "replaced the previous file" in again.stdout
    assert f"rejected {len(bad)} orders" in again.stdout
    for order in bad.values():
        assert order.number in again.stdout
    assert path.read_bytes() == content and [p.name for p in path.parent.iterdir()] == [path.name]

    answer = import_into_tally(path.read_bytes())
    assert (answer.findtext("CREATED"), answer.findtext("ALTERED")) == ("0", str(len(good)))
    assert sorted(i.number for i in world.ledger.invoices()) == expected  # altered, not doubled


def test_chosen_orders_get_a_file_of_their_own_and_unknown_ids_are_reported(world_factory, tmp_path):
    world = world_factory(NetworkSpec(seed=92, orders=12, bad_share=0.25), target="tally")
    good = on(DAY, world.network.good_orders)
    bad = [o for o in on(DAY, world.network.orders) if o.bad is not None]
    whole = written(*WINDOW)
    whole_content = Path(whole["path"]).read_bytes()

    chosen = written(*WINDOW, "--order-id", good[0].id, "--order-id", bad[0].id, "--order-id", "ORD-NOPE")

    path = Path(chosen["path"])
    assert path.parent.parent == tmp_path / "data" / "tally-import"
    assert path.parent.name.startswith("orders-") and path.name == Path(whole["path"]).name
    assert remote_ids(path) == [f"INV-{good[0].number}"]
    rejected = {r["order_id"]: r for r in chosen["rejected"]}
    assert set(rejected) == {bad[0].id, "ORD-NOPE"}
    assert "no confirmed order ORD-NOPE" in rejected["ORD-NOPE"]["reason"]
    assert Path(whole["path"]).read_bytes() == whole_content  # the window's file is kept


def test_a_window_with_nothing_to_write_writes_no_file_and_empties_a_stale_one(world_factory, tmp_path):
    world = world_factory(NetworkSpec(seed=93, orders=8, bad_share=0.0), target="tally")
    folder = tmp_path / "out"

    empty = invoke("--since", "2026-11-25", "--until", "2026-11-26", "--dir", str(folder))
    assert empty.exit_code == 0, empty.output
    assert "no order of 2026-11-25 could be written" in empty.stdout and "no file was written" in empty.stdout
    assert not folder.exists() or not list(folder.iterdir())

    first = written(*WINDOW, "--dir", str(folder))
    assert first["vouchers"] == len(on(DAY, world.network.orders)) > 0
    engine = make_engine(world.db_url)  # every order of the day is withdrawn in the portal
    try:
        with engine.begin() as connection:
            connection.execute(update(schema.orders).values(status="cancelled"))
    finally:
        engine.dispose()

    stale = written(*WINDOW, "--dir", str(folder))
    assert stale["path"] == first["path"] and stale["replaced"] is True
    assert stale["vouchers"] == 0 and remote_ids(Path(stale["path"])) == []


@pytest.fixture
def settings_env(tmp_path, monkeypatch):
    """A clean environment with a company named: bad input is refused before any database is read."""
    for name in list(os.environ):
        if name.startswith("DEALER_SYNC_") and name != "DEALER_SYNC_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEALER_SYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DEALER_SYNC_TALLY__COMPANY", "Dealer Sync Demo Pvt Ltd")
    return tmp_path


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2026-13-01", "2026-11-21", "--since '2026-13-01' is not an ISO 8601 date-time"),
        ("2026-11-20", "yesterday", "--until 'yesterday' is not an ISO 8601 date-time"),
        ("2026-11-20T00:00:00", "2026-11-21", "has no timezone offset"),
        ("2026-11-21", "2026-11-20", "--until (2026-11-20) must be after --since (2026-11-21)"),
        ("2026-11-20", "2026-11-20", "must be after --since"),
        (
            "2026-11-20T06:00:00+05:30",
            "2026-11-21",
            "--since 2026-11-20T06:00:00+05:30 is not the start of a business day in Asia/Kolkata",
        ),
    ],
)
def test_bad_dates_are_refused_with_a_clear_error(settings_env, since, until, message):
    result = invoke("--since", since, "--until", until)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (settings_env / "data").exists()


def test_a_business_days_midnight_is_accepted_as_an_instant(settings_env):
    """Midnight in Kolkata, written in UTC: it passes the window check and reaches the store."""
    result = invoke("--since", "2026-11-19T18:30:00Z", "--until", "2026-11-21")
    assert result.exit_code == 1  # no store here: the window was fine
    assert "dealer-sync db upgrade" in result.stderr or "cannot read" in result.stderr


def test_no_company_configured_is_a_clear_error(settings_env, monkeypatch):
    monkeypatch.delenv("DEALER_SYNC_TALLY__COMPANY")
    result = invoke(*WINDOW)
    assert result.exit_code == 2
    assert "DEALER_SYNC_TALLY__COMPANY" in result.stderr


def test_the_help_says_what_happens_when_nothing_can_be_written():
    assert runner.invoke(app, ["tally", "--help"]).exit_code == 0
    result = invoke("--help")
    assert result.exit_code == 0
    assert "no file is created" in " ".join(result.stdout.split())
