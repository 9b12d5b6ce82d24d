"""Everything a flow run talks to, built once per process from settings and shared by its tasks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import SecretStr

from connectors.accounting import AccountingSystem
from connectors.portal_sql.client import SqlPortal
from connectors.zoho.client import ZohoCredentials
from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_inventory.client import ZohoInventoryClient
from dealer_sync.db import make_engine
from dealer_sync.settings import OAuthSystemSettings, RotatingOAuthSettings, Settings, TallySettings
from dealer_sync.store import SyncStore


class ConfigurationError(RuntimeError):
    """A setting or secret the run needs is missing: fix the configuration, retrying will not help."""


def resolve_secret(value: SecretStr | None, block_prefix: str | None, name: str, env_hint: str) -> SecretStr:
    """A secret the run cannot do without: from settings, else the Secret block ``<prefix>-<name>``."""
    secret = optional_secret(value, block_prefix, name)
    if secret is not None:
        return secret
    if block_prefix:
        raise ConfigurationError(
            f"{env_hint} is not set and the Secret block {block_prefix}-{name} does not exist"
        )
    raise ConfigurationError(f"{env_hint} is not set and no secret block is configured for it")


def optional_secret(value: SecretStr | None, block_prefix: str | None, name: str) -> SecretStr | None:
    """A secret that may be absent: from settings, else the block ``<prefix>-<name>`` if it exists."""
    if value is not None or not block_prefix:
        return value
    from prefect.blocks.system import Secret

    try:
        block: Any = Secret.load(f"{block_prefix}-{name}")
    except ValueError:  # no such block: the channel is simply not configured
        return None
    return SecretStr(str(block.get()))


def delivery_settings(settings: Settings) -> Settings:
    """Settings with the Slack webhooks and the SMTP password filled in from Secret blocks."""
    prefix = settings.secret_block_prefix
    if not prefix:
        return settings
    smtp = settings.smtp.model_copy(
        update={"password": optional_secret(settings.smtp.password, prefix, "smtp-password")}
    )
    alerts = settings.alerts.model_copy(
        update={
            "slack_webhook_url": optional_secret(
                settings.alerts.slack_webhook_url, prefix, "ops-slack-webhook-url"
            )
        }
    )
    return settings.model_copy(
        update={
            "slack_webhook_url": optional_secret(settings.slack_webhook_url, prefix, "slack-webhook-url"),
            "smtp": smtp,
            "alerts": alerts,
        }
    )


def zoho_credentials(system: OAuthSystemSettings, env_name: str) -> ZohoCredentials:
    prefix = f"DEALER_SYNC_{env_name}__"
    if not system.organization_id or not system.client_id:
        raise ConfigurationError(f"{prefix}ORGANIZATION_ID and {prefix}CLIENT_ID must be set")
    return ZohoCredentials(
        base_url=system.base_url,
        accounts_url=system.accounts_url,
        organization_id=system.organization_id,
        client_id=system.client_id,
        client_secret=resolve_secret(
            system.client_secret, system.secret_block, "client-secret", f"{prefix}CLIENT_SECRET"
        ),
        refresh_token=resolve_secret(
            system.refresh_token, system.secret_block, "refresh-token", f"{prefix}REFRESH_TOKEN"
        ),
        requests_per_minute=system.requests_per_minute,
        max_concurrent=system.max_concurrent,
        timeout_seconds=system.timeout_seconds,
        minute_seconds=system.minute_seconds,
    )


def tally_credentials(tally: TallySettings) -> Any:
    from connectors.tally.client import TallyCredentials

    if not tally.company:
        raise ConfigurationError("DEALER_SYNC_TALLY__COMPANY must name the company open in Tally")
    return TallyCredentials(
        url=tally.url,
        company=tally.company,
        currency=tally.currency,
        requests_per_minute=tally.requests_per_minute,
        max_concurrent=tally.max_concurrent,
        timeout_seconds=tally.timeout_seconds,
        minute_seconds=tally.minute_seconds,
    )


@dataclass(frozen=True)
class RotatingSecrets:
    """What an OAuth ledger with rotating refresh tokens needs beside its URLs and limits."""

    tenant_id: str
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr  # the seed: the newest token lives in ``token_file``
    token_file: Any  # a FileRefreshTokenStore


def rotating_secrets(system: RotatingOAuthSettings, env_name: str, data_dir: Any) -> RotatingSecrets:
    """Secrets from settings or Secret blocks; the rotated token kept in a file under data_dir.

    Every process of an installation (flow runs, workers) must start from the newest refresh
    token, since each use retires the one before: hence a file by default, not memory.
    """
    from pathlib import Path

    from connectors.http.oauth import FileRefreshTokenStore

    prefix = f"DEALER_SYNC_{env_name}__"
    if not system.tenant_id or not system.client_id:
        raise ConfigurationError(f"{prefix}TENANT_ID and {prefix}CLIENT_ID must be set")
    token_file = system.refresh_token_file or Path(data_dir) / "tokens" / f"{env_name.lower()}-refresh-token"
    return RotatingSecrets(
        tenant_id=system.tenant_id,
        client_id=system.client_id,
        client_secret=resolve_secret(
            system.client_secret, system.secret_block, "client-secret", f"{prefix}CLIENT_SECRET"
        ),
        refresh_token=resolve_secret(
            system.refresh_token, system.secret_block, "refresh-token", f"{prefix}REFRESH_TOKEN"
        ),
        token_file=FileRefreshTokenStore(Path(token_file)),
    )


def xero_accounting(settings: Settings) -> AccountingSystem:
    from connectors.xero.accounting import XeroAccounting
    from connectors.xero.client import XeroClient, XeroCredentials

    xero = settings.xero
    secrets = rotating_secrets(xero, "XERO", settings.data_dir)
    credentials = XeroCredentials(
        base_url=xero.base_url,
        token_url=xero.token_url,
        tenant_id=secrets.tenant_id,
        client_id=secrets.client_id,
        client_secret=secrets.client_secret,
        refresh_token=secrets.refresh_token,
        refresh_token_store=secrets.token_file,
        requests_per_minute=xero.requests_per_minute,
        max_concurrent=xero.max_concurrent,
        requests_per_day=xero.requests_per_day,
        timeout_seconds=xero.timeout_seconds,
        minute_seconds=xero.minute_seconds,
    )
    return XeroAccounting(XeroClient(credentials))


def quickbooks_accounting(settings: Settings) -> AccountingSystem:
    from connectors.quickbooks.accounting import QuickBooksAccounting
    from connectors.quickbooks.client import QuickBooksClient, QuickBooksCredentials

    qbo = settings.quickbooks
    secrets = rotating_secrets(qbo, "QUICKBOOKS", settings.data_dir)
    credentials = QuickBooksCredentials(
        base_url=qbo.base_url,
        token_url=qbo.token_url,
        realm_id=secrets.tenant_id,
        client_id=secrets.client_id,
        client_secret=secrets.client_secret,
        refresh_token=secrets.refresh_token,
        refresh_token_store=secrets.token_file,
        minor_version=qbo.minor_version,
        batches_per_minute=qbo.batches_per_minute,
        requests_per_minute=qbo.requests_per_minute,
        max_concurrent=qbo.max_concurrent,
        timeout_seconds=qbo.timeout_seconds,
        minute_seconds=qbo.minute_seconds,
    )
    return QuickBooksAccounting(QuickBooksClient(credentials))


def accounting_system(settings: Settings) -> AccountingSystem:
    """The configured ledger behind the protocol the flows use (built on first use, per process)."""
    target = settings.accounting_target
    if target == "zoho_books":
        from connectors.zoho_books.accounting import ZohoBooksAccounting

        return ZohoBooksAccounting(ZohoBooksClient(zoho_credentials(settings.zoho_books, "ZOHO_BOOKS")))
    if target == "tally":
        from connectors.tally.accounting import TallyAccounting
        from connectors.tally.client import TallyClient

        return TallyAccounting(TallyClient(tally_credentials(settings.tally)))
    if target == "xero":
        return xero_accounting(settings)
    if target == "quickbooks":
        return quickbooks_accounting(settings)
    raise ConfigurationError(f"accounting target {target!r} has no connector in this version")


@dataclass
class SyncEnvironment:
    """The store, the portal and one long-lived client per system (their tokens are shared)."""

    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def store(self) -> SyncStore:
        return SyncStore.open(self.settings.resolved_store_url())

    @cached_property
    def portal(self) -> SqlPortal:
        return SqlPortal(make_engine(self.settings.resolved_portal_url()), self.settings.business_timezone)

    @cached_property
    def inventory(self) -> ZohoInventoryClient:
        with self._lock:
            return ZohoInventoryClient(zoho_credentials(self.settings.zoho_inventory, "ZOHO_INVENTORY"))

    @cached_property
    def accounting(self) -> AccountingSystem:
        with self._lock:
            return accounting_system(self.settings)

    @property
    def ledger(self) -> str:
        """The accounting target's name: the key of its mapping tables, outbox rows and audit."""
        return self.settings.accounting_target

    def close(self) -> None:
        for name in ("inventory", "accounting"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()
        portal = self.__dict__.pop("portal", None)
        if portal is not None:
            portal.engine.dispose()


_environments: dict[str, SyncEnvironment] = {}
_environments_lock = threading.Lock()


def environment(settings: Settings | None = None) -> SyncEnvironment:
    """The process's environment for these settings (tasks in threads share clients and engines)."""
    settings = settings or Settings()
    key = settings.model_dump_json()
    with _environments_lock:
        env = _environments.get(key)
        if env is None:
            env = _environments[key] = SyncEnvironment(settings)
        return env


def close_environments() -> None:
    with _environments_lock:
        for env in _environments.values():
            env.close()
        _environments.clear()
