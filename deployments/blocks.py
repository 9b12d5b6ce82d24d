"""Credentials into Prefect blocks, from the environment of whoever runs ``dealer-sync deploy``.

Workers then need no secret in their environment: ``DEALER_SYNC_ZOHO_BOOKS__SECRET_BLOCK=zoho-books``
tells a run to load ``zoho-books-client-secret`` and ``zoho-books-refresh-token``
(tasks/environment.py); likewise ``QUICKBOOKS__`` and ``XERO__``, whose block holds the refresh
token a run starts from when its token file has none that works (they rotate on every use).
Values are never printed; only block names are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from pydantic import SecretStr

from dealer_sync.settings import OAuthSystemSettings, RotatingOAuthSettings, Settings
from deployments.automations import OPS_WEBHOOK_BLOCK

OAUTH_SYSTEMS: Final = {
    "zoho_inventory": "zoho-inventory",
    "zoho_books": "zoho-books",
    "quickbooks": "quickbooks",
    "xero": "xero",
}
"""Settings field -> default Secret block prefix."""
DELIVERY_PREFIX: Final = "dealer-sync"
"""Default prefix of the Slack webhook and SMTP password blocks (DEALER_SYNC_SECRET_BLOCK_PREFIX)."""


@dataclass(frozen=True)
class RegisteredSecret:
    block: str
    source: str  # the environment variable it came from


def _oauth_system(settings: Settings, field: str) -> OAuthSystemSettings | RotatingOAuthSettings:
    system = getattr(settings, field)
    assert isinstance(system, OAuthSystemSettings | RotatingOAuthSettings)
    return system


def secrets_to_register(settings: Settings) -> list[tuple[RegisteredSecret, SecretStr]]:
    """Every OAuth secret present in these settings, with the block name it belongs in."""
    found: list[tuple[RegisteredSecret, SecretStr]] = []
    for field, default_prefix in OAUTH_SYSTEMS.items():
        system = _oauth_system(settings, field)
        prefix = system.secret_block or default_prefix
        env = f"DEALER_SYNC_{field.upper()}__"
        for name, value in (("client-secret", system.client_secret), ("refresh-token", system.refresh_token)):
            if value is not None:
                source = env + name.upper().replace("-", "_")
                found.append((RegisteredSecret(f"{prefix}-{name}", source), value))
    prefix = settings.secret_block_prefix or DELIVERY_PREFIX
    for name, source, value in (
        ("slack-webhook-url", "DEALER_SYNC_SLACK_WEBHOOK_URL", settings.slack_webhook_url),
        ("ops-slack-webhook-url", "DEALER_SYNC_ALERTS__SLACK_WEBHOOK_URL", settings.alerts.slack_webhook_url),
        ("smtp-password", "DEALER_SYNC_SMTP__PASSWORD", settings.smtp.password),
    ):
        if value is not None:
            found.append((RegisteredSecret(f"{prefix}-{name}", source), value))
    return found


def register_secrets(settings: Settings) -> list[RegisteredSecret]:
    """Save each secret as a Prefect Secret block (overwriting: this is how a token is rotated)."""
    from prefect.blocks.system import Secret

    registered = []
    for entry, value in secrets_to_register(settings):
        Secret(value=value.get_secret_value()).save(entry.block, overwrite=True)
        registered.append(entry)
    return registered


def register_ops_webhook(settings: Settings) -> UUID | None:
    """The notification block the crash automation posts to: the ops Slack webhook, if set.

    A generic webhook block, not Prefect's Slack block: it posts Slack's own ``{"text": ...}``
    body to any URL, so the same block serves Slack and a test's loopback receiver. The URL is
    kept in the block's secrets, not in its plain fields.
    """
    url = settings.alerts.slack_webhook_url
    if url is None:
        return None
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name="dealer-sync ops",
        url="{{ webhook_url }}",
        json_data={"text": "{{ subject }}\n{{ body }}"},
        secrets={"webhook_url": url.get_secret_value()},
    )
    block_id: Any = block.save(OPS_WEBHOOK_BLOCK, overwrite=True)  # sync here
    return UUID(str(block_id))
