"""The Zoho API client both products share: organisation id, envelope check, paging."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.http.budget import BudgetSpec, budget_for
from connectors.http.errors import ErrorKind
from connectors.http.oauth import RefreshingTokenAuth
from connectors.http.overlap import in_flight_for
from connectors.http.pagination import PageNumberPaginator
from connectors.http.transport import RestTransport, RetryPolicy
from connectors.zoho.auth import ZohoTokenSource
from connectors.zoho.errors import ZohoError, zoho_error


@dataclass(frozen=True)
class ZohoCredentials:
    """Everything needed to reach one Zoho product of one organisation."""

    base_url: str
    accounts_url: str
    organization_id: str
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    requests_per_minute: int = 100
    max_concurrent: int = 5
    timeout_seconds: float = 30.0
    minute_seconds: float = 60.0

    def __repr__(self) -> str:
        return f"ZohoCredentials(base_url={self.base_url!r}, organization_id={self.organization_id!r})"


def zoho_time(value: datetime) -> str:
    """Zoho's filter format ``yyyy-MM-ddTHH:mm:ss+0000`` (an offset, never a bare Z)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_zoho_time(value: str) -> datetime:
    """Zoho writes offsets without a colon (``+0530``); return an aware UTC instant."""
    return datetime.fromisoformat(value).astimezone(UTC)


class ZohoClient:
    """Base of the Inventory and Books clients. No Prefect here: tasks wrap it."""

    system = "zoho"

    def __init__(self, credentials: ZohoCredentials, *, retry: RetryPolicy | None = None) -> None:
        self.credentials = credentials
        self._token_source = ZohoTokenSource(
            credentials.accounts_url,
            credentials.client_id,
            credentials.client_secret,
            credentials.refresh_token,
            timeout=credentials.timeout_seconds,
        )
        self.auth = RefreshingTokenAuth(self._token_source, scheme="Zoho-oauthtoken")
        self._http = httpx.Client(
            base_url=credentials.base_url, auth=self.auth, timeout=credentials.timeout_seconds
        )
        budget = budget_for(
            self.system,
            credentials.organization_id,
            BudgetSpec(
                credentials.requests_per_minute, credentials.max_concurrent, credentials.minute_seconds
            ),
        )
        self.transport = RestTransport(
            system=self.system, client=self._http, budget=budget, error_table=zoho_error, retry=retry
        )

    @property
    def in_flight(self) -> int:
        """One-document requests a batch keeps in flight: the org's concurrency, within reason."""
        return in_flight_for(self.credentials.max_concurrent)

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._token_source.close()

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {"organization_id": self.credentials.organization_id}
        merged.update({k: v for k, v in (params or {}).items() if v is not None})
        return merged

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        write: bool = False,
    ) -> dict[str, Any]:
        """One request; a 2xx whose envelope says ``code != 0`` is an error too."""
        body = self.transport.request(
            method, path, params=self._params(params), json_body=json_body, write=write
        )
        if not isinstance(body, dict):
            raise ZohoError(f"Zoho answered {method} {path} without a JSON object", kind=ErrorKind.RETRY)
        code = body.get("code", 0)
        if code != 0:
            raise ZohoError(
                f"Zoho answered {method} {path} with code {code}: {body.get('message')}",
                kind=ErrorKind.BAD_REQUEST,
                vendor_code=str(code),
            )
        return body

    def call_repeatable(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A write that is harmless to repeat (confirm, mark sent): the transport retries it like a
        read, through 5xx and timeouts within its bounds, since saying it twice changes nothing.
        (A create is not repeatable: after doubt it is looked up, never sent again blindly.)"""
        return self.call(method, path, params=params, write=False)

    def pages(
        self, path: str, key: str, id_field: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, following ``page_context.has_more_page``."""
        paginator = PageNumberPaginator(
            records=lambda body: list(body.get(key) or []),
            has_more=lambda body: bool((body.get("page_context") or {}).get("has_more_page")),
            record_id=lambda record: str(record.get(id_field)),
        )
        yield from paginator.pages(lambda paging: self.call("GET", path, params={**(params or {}), **paging}))
