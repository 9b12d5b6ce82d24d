"""SlackWebhook against a real HTTP receiver on 127.0.0.1, and the Block Kit summary payload."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.slack import SlackDeliveryError, SlackWebhook, summary_payload
from dealer_sync.report import Finding, ReconciliationReport

SECRET_PATH = "/services/T0TEST/B0TEST/xoxSecretWebhookToken123"


def make_report(categories: int = 3) -> ReconciliationReport:
    findings = [
        Finding(
            category=f"category_{index:02d}" if categories > 3 else name,
            severity="high" if index % 2 == 0 else "low",
            currency="INR",
            money_at_stake=Decimal(1000 * (index + 1)),
            age_days=index,
            remedy=f"dealer-sync replay --order PO-{index}",
            detail="detail",
            order_key=f"PO-{index}",
            dealer_key=f"D-{index}",
        )
        for index, name in zip(
            range(categories),
            ["missing_invoice", "amount_mismatch", "stale_availability"] + [""] * categories,
            strict=False,
        )
    ]
    return ReconciliationReport(
        window_start=dt.date(2024, 5, 1),
        window_end=dt.date(2024, 5, 7),
        generated_at=dt.datetime(2024, 5, 8, 2, 0, tzinfo=dt.UTC),
        findings=findings,
        matched={"portal": 1200, "accounting": 1175},
    )


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """Records every POST and answers from a script of replies (then ``200 ok``)."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> SecretStr:
        return SecretStr(f"http://127.0.0.1:{self.port}{SECRET_PATH}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "json": json.loads(raw),
                        "at": time.monotonic(),
                    }
                )
                reply = state.replies.pop(0) if state.replies else Reply()
            body = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def assert_url_free(error: BaseException, port: int) -> None:
    for text in (str(error), repr(error), *map(str, error.args)):
        assert SECRET_PATH not in text
        assert "xoxSecretWebhookToken123" not in text
        assert f"127.0.0.1:{port}" not in text
    # httpx's exceptions hold the request and so the URL: none may hang off ours.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_posts_the_summary_as_json(receiver: Receiver) -> None:
    report = make_report()
    payload = summary_payload(report, "https://reports.example.com/recon?date=2024-05-01&x=1")

    with SlackWebhook(receiver.url, timeout=5) as webhook:
        webhook.post(payload)

    [request] = receiver.requests
    assert request["path"] == SECRET_PATH
    assert request["content_type"] == "application/json"
    assert request["json"] == payload
    blocks = request["json"]["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "Reconciliation 2024-05-01 to 2024-05-07: 3 findings",
        "emoji": False,
    }
    assert "*3* findings: *2* high, 0 medium, 1 low" in blocks[1]["text"]["text"]
    assert "INR 6,000.00" in blocks[1]["text"]["text"]
    assert "portal 1,200" in blocks[1]["text"]["text"]
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields[0] == "*stale_availability*\n1 (1 high) · INR 3,000.00"  # most money first
    assert fields[-1] == "*missing_invoice*\n1 (1 high) · INR 1,000.00"
    context = blocks[3]["elements"][0]["text"]
    assert "<https://reports.example.com/recon?date=2024-05-01&amp;x=1|full report>" in context
    assert request["json"]["text"].startswith(
        "dealer-sync Reconciliation 2024-05-01 to 2024-05-07: 3 findings"
    )


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, "rollup_error", ErrorKind.UNCERTAIN),
        (403, "invalid_token", ErrorKind.AUTH),
        (200, "invalid_token", ErrorKind.AUTH),
        (404, "no_service", ErrorKind.AUTH),
        (400, "invalid_payload", ErrorKind.BAD_REQUEST),
        (502, f"<html>bad gateway for {SECRET_PATH}</html>", ErrorKind.UNCERTAIN),
    ],
)
def test_failures_raise_without_the_url(receiver: Receiver, status: int, body: str, kind: ErrorKind) -> None:
    receiver.replies.append(Reply(status, body))

    with SlackWebhook(receiver.url, timeout=5) as webhook, pytest.raises(SlackDeliveryError) as caught:
        webhook.post(summary_payload(make_report(), None))

    error = caught.value
    assert error.kind is kind and error.status_code == status
    assert f"answered {status}" in str(error)
    assert_url_free(error, receiver.port)
    assert len(receiver.requests) == 1  # never resent: it may have posted


def test_429_with_short_retry_after_is_retried_once(receiver: Receiver) -> None:
    receiver.replies.append(Reply(429, "rate_limited", {"Retry-After": "1"}))

    with SlackWebhook(receiver.url, timeout=5) as webhook:
        webhook.post(summary_payload(make_report(), None))

    first, second = receiver.requests
    assert second["at"] - first["at"] >= 0.9
    assert first["json"] == second["json"]


def test_429_twice_raises_after_one_retry(receiver: Receiver) -> None:
    receiver.replies += [
        Reply(429, "rate_limited", {"Retry-After": "0"}),
        Reply(429, "rate_limited", {"Retry-After": "0"}),
    ]

    with SlackWebhook(receiver.url, timeout=5) as webhook, pytest.raises(SlackDeliveryError) as caught:
        webhook.post(summary_payload(make_report(), None))

    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("headers", [{"Retry-After": "30"}, {}])
def test_429_with_long_or_no_retry_after_raises_at_once(receiver: Receiver, headers: dict[str, str]) -> None:
    receiver.replies.append(Reply(429, "rate_limited", headers))
    started = time.monotonic()

    with SlackWebhook(receiver.url, timeout=5) as webhook, pytest.raises(SlackDeliveryError) as caught:
        webhook.post(summary_payload(make_report(), None))

    assert time.monotonic() - started < 2
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == (30.0 if headers else None)
    assert len(receiver.requests) == 1
    assert_url_free(caught.value, receiver.port)


def test_unreachable_webhook_raises_without_the_url() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = SecretStr(f"http://127.0.0.1:{port}{SECRET_PATH}")

    with SlackWebhook(url, timeout=2) as webhook, pytest.raises(SlackDeliveryError) as caught:
        webhook.post({"text": "hello"})

    assert caught.value.kind is ErrorKind.RETRY
    assert_url_free(caught.value, port)


def test_httpx_request_log_does_not_show_the_url(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"), SlackWebhook(receiver.url, timeout=5) as webhook:
        webhook.post({"text": "hello"})

    assert "HTTP Request: POST" in caplog.text
    assert SECRET_PATH not in caplog.text and "xoxSecretWebhookToken123" not in caplog.text
    assert "<slack webhook>" in caplog.text


def test_repr_and_settings() -> None:
    url = SecretStr(f"https://hooks.slack.com{SECRET_PATH}")
    with SlackWebhook.from_settings(url) as webhook:
        assert SECRET_PATH not in repr(webhook) and "xoxSecret" not in repr(vars(webhook))
    with pytest.raises(ValueError, match="DEALER_SYNC_SLACK_WEBHOOK_URL"):
        SlackWebhook.from_settings(None)
    with pytest.raises(ValueError) as caught:
        SlackWebhook(SecretStr("hooks.slack.com" + SECRET_PATH))
    assert SECRET_PATH not in str(caught.value)


def test_payload_limits_and_escaping() -> None:
    many = summary_payload(make_report(categories=14), "/data/reports/<2024>&co")
    fields = many["blocks"][2]["fields"]
    assert len(fields) == 10
    assert fields[-1]["text"].startswith("*5 more categories*\n5 findings")
    context = many["blocks"][3]["elements"][0]["text"]
    assert "`/data/reports/&lt;2024&gt;&amp;co`" in context
    assert "<2024>" not in many["text"]

    empty = ReconciliationReport(
        window_start=dt.date(2024, 5, 1), generated_at=dt.datetime(2024, 5, 2, tzinfo=dt.UTC), findings=[]
    )
    payload = summary_payload(empty, None)
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert "every record matched" in payload["text"]
    assert all(len(b["text"]["text"]) <= 150 for b in payload["blocks"] if b["type"] == "header")
