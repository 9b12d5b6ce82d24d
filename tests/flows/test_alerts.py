"""A run that ends Failed tells ops: the flow, the task that failed, a link; a broken channel is no crash."""

from __future__ import annotations

import pytest
from prefect import flow, task

from flows.alerts import alert_ops
from tests.loopback import free_port, smtp_server, webhook_receiver


@pytest.fixture
def smtp_inbox():
    with smtp_server() as (port, inbox):
        yield port, inbox


@task(name="post_invoices_batch")
def failing_batch() -> None:
    raise RuntimeError("Zoho Books kept answering 503")


@task(name="fetch_orders")
def fine_batch() -> int:
    return 3


@flow(name="alerting-flow", on_failure=[alert_ops])
def alerting_flow() -> None:
    fine_batch()
    failing_batch()


def test_a_failed_run_names_the_flow_the_failing_task_and_links_the_run(prefect_api, monkeypatch, smtp_inbox):
    port, inbox = smtp_inbox
    with webhook_receiver() as ops:
        monkeypatch.setenv("DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL", ops.url)
        monkeypatch.setenv("DEALER_SYNC_ALERTS__RECIPIENTS", '["ops@manufacturer.example"]')
        monkeypatch.setenv("DEALER_SYNC_ALERTS__UI_URL", "http://127.0.0.1:4200/")
        monkeypatch.setenv("DEALER_SYNC_SMTP__HOST", "127.0.0.1")
        monkeypatch.setenv("DEALER_SYNC_SMTP__PORT", str(port))
        state = alerting_flow(return_state=True)
        assert state.is_failed()
        run_id = state.state_details.flow_run_id

        (post,) = ops.posts
        text = post["text"]
        assert "alerting-flow" in text and "Failed" in text
        assert "post_invoices_batch" in text and "Zoho Books kept answering 503" in text
        assert "fetch_orders" not in text  # only the task that failed is named
        assert f"http://127.0.0.1:4200/runs/flow-run/{run_id}" in text
        assert ops.url not in text

        (message,) = inbox.messages
        assert message["To"] == "ops@manufacturer.example"
        assert "alerting-flow" in message["Subject"] and "Failed" in message["Subject"]
        assert "post_invoices_batch" in message.get_payload()


def test_a_broken_slack_channel_still_emails_and_the_run_stays_failed(prefect_api, monkeypatch, smtp_inbox):
    port, inbox = smtp_inbox
    dead = free_port()
    monkeypatch.setenv("DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL", f"http://127.0.0.1:{dead}/services/T/B/x")
    monkeypatch.setenv("DEALER_SYNC_ALERTS__RECIPIENTS", '["ops@manufacturer.example"]')
    monkeypatch.setenv("DEALER_SYNC_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("DEALER_SYNC_SMTP__PORT", str(port))
    state = alerting_flow(return_state=True)
    assert state.is_failed()
    assert len(inbox.messages) == 1


def test_without_alert_channels_a_failed_run_sends_nothing(prefect_api, monkeypatch, smtp_inbox):
    port, inbox = smtp_inbox
    for name in ("DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL", "DEALER_SYNC_ALERTS__RECIPIENTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEALER_SYNC_SMTP__PORT", str(port))
    state = alerting_flow(return_state=True)
    assert state.is_failed()
    assert inbox.messages == []


def test_the_ops_webhook_can_live_in_a_secret_block_only(prefect_api, monkeypatch):
    from prefect.blocks.system import Secret

    with webhook_receiver() as ops:
        Secret(value=ops.url).save("alerts-test-ops-slack-webhook-url", overwrite=True)
        for name in ("DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL", "DEALER_SYNC_ALERTS__RECIPIENTS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DEALER_SYNC_SECRET_BLOCK_PREFIX", "alerts-test")
        state = alerting_flow(return_state=True)
        assert state.is_failed()
        (post,) = ops.posts
        assert "post_invoices_batch" in post["text"]


def test_deploy_registers_every_secret_it_finds_under_the_names_runs_read():
    from dealer_sync.settings import Settings
    from deployments.blocks import secrets_to_register

    settings = Settings(
        slack_webhook_url="https://hooks.slack.example/finance",
        alerts={"slack_webhook_url": "https://hooks.slack.example/ops"},
        smtp={"host": "mail.example", "port": 465, "security": "ssl", "username": "u", "password": "p"},
        zoho_books={
            "base_url": "https://books.example",
            "accounts_url": "https://accounts.example",
            "client_secret": "cs",
            "refresh_token": "rt",
        },
        quickbooks={"client_secret": "qcs", "refresh_token": "qrt"},
        xero={"client_secret": "xcs", "secret_block": "xero-prod"},
    )
    names = {entry.block: value.get_secret_value() for entry, value in secrets_to_register(settings)}
    assert names == {
        "zoho-books-client-secret": "cs",
        "zoho-books-refresh-token": "rt",
        "quickbooks-client-secret": "qcs",
        "quickbooks-refresh-token": "qrt",
        "xero-prod-client-secret": "xcs",
        "dealer-sync-slack-webhook-url": "https://hooks.slack.example/finance",
        "dealer-sync-ops-slack-webhook-url": "https://hooks.slack.example/ops",
        "dealer-sync-smtp-password": "p",
    }
