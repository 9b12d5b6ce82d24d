"""Runtime configuration from environment variables (prefix ``DEALER_SYNC_``) and a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dealer_sync.money import Currency
from dealer_sync.timeutil import zone


def _valid_timezone(name: str) -> str:
    zone(name)
    return name


TimezoneName = Annotated[str, AfterValidator(_valid_timezone)]


class OAuthSystemSettings(BaseModel):
    """Where one OAuth-protected system lives and which credentials reach it.

    Secrets come from the environment (``DEALER_SYNC_ZOHO_BOOKS__CLIENT_SECRET``) or, when
    ``secret_block`` names one, from Prefect Secret blocks ``<secret_block>-client-secret`` and
    ``<secret_block>-refresh-token``. They never have defaults.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str
    accounts_url: str
    organization_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    secret_block: str | None = Field(
        default=None, description="prefix of the Prefect Secret blocks holding this system's secrets"
    )
    requests_per_minute: int = Field(default=100, gt=0, description="the vendor's per-org budget")
    max_concurrent: int = Field(default=5, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    minute_seconds: float = Field(
        default=60.0, gt=0, description="length of the vendor's rate-limit minute; only sandboxes shorten it"
    )


AccountingTarget = Literal["zoho_books", "tally", "quickbooks", "xero"]
"""The accounting systems order-to-invoice, the pullback and the reconciliation can work against."""


class RotatingOAuthSettings(BaseModel):
    """An OAuth2 ledger whose refresh token rotates on every use (QuickBooks Online, Xero).

    The rotated token is written to ``refresh_token_file`` (default: under data_dir), so the
    next run starts from the newest one; the configured ``refresh_token`` seeds it once.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str
    token_url: str
    tenant_id: str | None = Field(default=None, description="QuickBooks realm id / Xero tenant id")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    refresh_token_file: Path | None = None
    secret_block: str | None = Field(
        default=None, description="prefix of the Prefect Secret blocks holding this system's secrets"
    )
    requests_per_minute: int = Field(gt=0, description="the vendor's per-tenant budget")
    max_concurrent: int = Field(gt=0)
    requests_per_day: int | None = Field(default=None, gt=0, description="a daily cap (Xero: 5,000)")
    timeout_seconds: float = Field(default=30.0, gt=0)
    minute_seconds: float = Field(
        default=60.0, gt=0, description="length of the vendor's rate-limit minute; only sandboxes shorten it"
    )


class QuickBooksSettings(RotatingOAuthSettings):
    """QuickBooks Online: the realm id is ``tenant_id``; 500 requests a minute, 10 at once."""

    base_url: str = "https://quickbooks.api.intuit.com"
    token_url: str = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    minor_version: int = Field(default=75, description="?minorversion= sent on every call")
    requests_per_minute: int = Field(default=500, gt=0)
    max_concurrent: int = Field(default=10, gt=0)
    batches_per_minute: int = Field(default=40, gt=0, description="QBO's own limit on /batch requests")


class XeroSettings(RotatingOAuthSettings):
    """Xero: ``tenant_id`` goes in the xero-tenant-id header; 60 a minute, 5 at once, 5,000 a day."""

    base_url: str = "https://api.xero.com/api.xro/2.0"
    token_url: str = "https://identity.xero.com/connect/token"
    requests_per_minute: int = Field(default=60, gt=0)
    max_concurrent: int = Field(default=5, gt=0)
    requests_per_day: int | None = Field(default=5000, gt=0)


class TallySettings(BaseModel):
    """Where the Tally Prime server listens and which company is ours (Tally has no auth)."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9000"
    company: str | None = Field(default=None, description="SVCURRENTCOMPANY: must be open in Tally")
    currency: Currency = "INR"
    requests_per_minute: int = Field(default=600, gt=0)
    max_concurrent: int = Field(default=1, gt=0, description="Tally serves one request at a time")
    timeout_seconds: float = Field(default=60.0, gt=0)
    minute_seconds: float = Field(default=60.0, gt=0)


class SmtpSettings(BaseModel):
    """SMTP server for the finance email."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 25
    security: str = Field(default="none", pattern="^(none|starttls|ssl)$")
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "dealer-sync@localhost"
    recipients: list[str] = Field(default_factory=list)


class AlertSettings(BaseModel):
    """Where ops hear of a run that ended Failed or Crashed (not finance: they get the reconciliation)."""

    model_config = ConfigDict(extra="forbid")

    slack_webhook_url: SecretStr | None = Field(
        default=None, description="incoming webhook of the ops channel"
    )
    recipients: list[str] = Field(
        default_factory=list, description="ops email addresses, sent through the smtp settings"
    )
    ui_url: str | None = Field(
        default=None,
        description="base URL of the Prefect UI for run links; default: Prefect's PREFECT_UI_URL",
    )


class Settings(BaseSettings):
    """All settings of one dealer-sync installation; defaults give the embedded setup."""

    model_config = SettingsConfigDict(
        env_prefix="DEALER_SYNC_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
    )

    data_dir: Path = Path("data")
    store_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the sync store; default: SQLite in data_dir"
    )
    portal_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the SQL dealer portal; default: SQLite"
    )
    reports_dir: Path | None = None
    business_timezone: TimezoneName = "Asia/Kolkata"
    base_currency: Currency = "INR"
    home_state: str = Field(default="MH", description="seller's state code, for GST place of supply")
    home_country: str = Field(
        default="IN",
        pattern="^[A-Z]{2}$",
        description="seller's country (ISO 3166): IN taxes dealers at home under GST, any other under VAT",
    )
    zoho_inventory: OAuthSystemSettings = OAuthSystemSettings(
        base_url="https://www.zohoapis.in/inventory/v1", accounts_url="https://accounts.zoho.in"
    )
    zoho_books: OAuthSystemSettings = OAuthSystemSettings(
        base_url="https://www.zohoapis.in/books/v3", accounts_url="https://accounts.zoho.in"
    )
    accounting_target: AccountingTarget = Field(
        default="zoho_books", description="the ledger invoices are posted to and read back from"
    )
    tally: TallySettings = TallySettings()
    quickbooks: QuickBooksSettings = QuickBooksSettings()
    xero: XeroSettings = XeroSettings()
    slack_webhook_url: SecretStr | None = None
    smtp: SmtpSettings = SmtpSettings()
    secret_block_prefix: str | None = Field(
        default=None,
        description=(
            "read the Slack webhooks and the SMTP password, when not set here, from the Prefect "
            "Secret blocks <prefix>-slack-webhook-url, <prefix>-ops-slack-webhook-url and "
            "<prefix>-smtp-password (dealer-sync secrets register saves them)"
        ),
    )
    alerts: AlertSettings = AlertSettings()
    task_runner: Literal["threads", "dask"] = Field(
        default="threads",
        description="where CPU-bound batches run: 'threads' in the flow's process, or 'dask' (prefect-dask)",
    )
    dask_address: str | None = Field(
        default=None,
        description="scheduler of a running Dask cluster (tcp://host:8786); none: a LocalCluster per run",
    )
    dask_workers: int = Field(
        default=2, gt=0, description="worker processes of that LocalCluster (one thread each)"
    )
    reconcile_partitions: int = Field(
        default=1, ge=1, description="partitions the reconciliation classifies in parallel; 1: in one piece"
    )

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'store.db'}"

    def resolved_portal_url(self) -> str:
        return self.portal_url or f"sqlite:///{self.data_dir / 'portal.db'}"

    def resolved_reports_dir(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own ``Settings`` instead."""
    return Settings()
