"""Posts the reconciliation summary to a Slack incoming webhook (Block Kit, with a text fallback)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.http.transport import parse_retry_after
from connectors.slack.errors import SlackDeliveryError, slack_error
from dealer_sync.report import ReconciliationReport, format_money

log = logging.getLogger("dealer_sync.connectors.slack")

MAX_RETRY_AFTER_SECONDS: Final = 5.0
"""Longest Retry-After this client waits out itself (once); longer waits are the flow's to schedule."""

# Block Kit limits (Slack's reference): header text 150 chars, 10 fields a section, 2000 a field.
_HEADER_MAX: Final = 150
_FIELDS_MAX: Final = 10
_FIELD_TEXT_MAX: Final = 2000
_SECTION_TEXT_MAX: Final = 3000


class _RedactSecretUrls(logging.Filter):
    """Cuts webhook URLs out of httpx's log lines.

    httpx logs every request at INFO with its full URL, and an incoming-webhook URL *is* the
    credential. The filter sits on the ``httpx`` logger only and knows only the URLs of live
    ``SlackWebhook`` objects.
    """

    def __init__(self) -> None:
        super().__init__("dealer_sync.slack.redact")
        self._lock = threading.Lock()
        self._secrets: dict[str, int] = {}

    def add(self, secret: str) -> None:
        with self._lock:
            self._secrets[secret] = self._secrets.get(secret, 0) + 1

    def discard(self, secret: str) -> None:
        with self._lock:
            left = self._secrets.get(secret, 0) - 1
            if left > 0:
                self._secrets[secret] = left
            else:
                self._secrets.pop(secret, None)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = list(self._secrets)
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, "<slack webhook>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR: Final = _RedactSecretUrls()
logging.getLogger("httpx").addFilter(_REDACTOR)


class SlackWebhook:
    """A Slack incoming webhook: one channel, one secret URL.

    The only retry is one wait for a 429 whose Retry-After is at most ``max_retry_after``
    seconds. Anything else is raised: a webhook post is not idempotent, so a 5xx or a timeout
    (which may have posted) is not resent here.
    """

    def __init__(
        self, url: SecretStr, timeout: float = 10.0, *, max_retry_after: float = MAX_RETRY_AFTER_SECONDS
    ) -> None:
        raw = url.get_secret_value()
        parts = urlsplit(raw)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("the Slack webhook URL must be an absolute https:// URL")
        self._url = url
        # The path alone (/services/T.../B.../secret) is as secret as the whole URL.
        # Kept as SecretStr so that repr() and vars() of this object never show them.
        self._secrets = tuple(SecretStr(s) for s in (raw, parts.path) if len(s) > 1)
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        for secret in self._secrets:
            _REDACTOR.add(secret.get_secret_value())
        self._closed = False
        self.requests_sent = 0  # for tests and logs: how many POSTs went out

    @classmethod
    def from_settings(cls, url: SecretStr | None, timeout: float = 10.0) -> SlackWebhook:
        """From ``Settings.slack_webhook_url``; refuses a missing one with a message that says how."""
        if url is None:
            raise ValueError("no Slack webhook configured: set DEALER_SYNC_SLACK_WEBHOOK_URL")
        return cls(url, timeout)

    def __repr__(self) -> str:
        return "SlackWebhook(url=SecretStr('**********'))"

    def __enter__(self) -> SlackWebhook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._client.close()
        for secret in self._secrets:
            _REDACTOR.discard(secret.get_secret_value())

    def post(self, payload: Mapping[str, Any]) -> None:
        """Post one message; return when Slack answered ``200 ok``.

        Raises:
            SlackDeliveryError: any other answer, or none. Its message and chain never hold the URL.
        """
        for attempt in (1, 2):
            error = self._post_once(payload)
            if error is None:
                return
            wait = error.retry_after
            if (
                attempt == 1
                and error.kind is ErrorKind.RATE_LIMITED
                and wait is not None
                and wait <= self.max_retry_after
            ):
                log.warning("Slack webhook rate-limited; retrying once in %.1f s", wait)
                time.sleep(wait)
                continue
            raise error
        raise AssertionError("unreachable: the second attempt returns or raises")

    def post_summary(self, report: ReconciliationReport, report_location: str | None = None) -> None:
        self.post(summary_payload(report, report_location))

    def _post_once(self, payload: Mapping[str, Any]) -> SlackDeliveryError | None:
        self.requests_sent += 1
        try:
            response = self._client.post(self._url.get_secret_value(), json=dict(payload))
        except httpx.ConnectError:
            # ``from None`` everywhere here: httpx exceptions hold the request, and so the URL.
            raise SlackDeliveryError("cannot connect to the Slack webhook", kind=ErrorKind.RETRY) from None
        except httpx.TransportError as exc:
            raise SlackDeliveryError(
                f"Slack webhook gave no complete answer ({type(exc).__name__}); the message may have posted",
                kind=ErrorKind.UNCERTAIN,
            ) from None
        body = response.text
        if response.status_code == 200 and body.strip() == "ok":
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        redact = tuple(secret.get_secret_value() for secret in self._secrets)
        return slack_error(response.status_code, body, retry_after, redact=redact)


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _location_mrkdwn(location: str) -> str:
    parts = urlsplit(location)
    if parts.scheme in ("http", "https") and parts.netloc and not any(c in location for c in " <>|"):
        return f"<{location.replace('&', '&amp;')}|full report>"
    plain = _mrkdwn(location.replace("`", "'"))
    return f"`{plain}`"


def summary_payload(report: ReconciliationReport, report_location: str | None) -> dict[str, Any]:
    """The Slack message: header, headline numbers, one field per category, where the report is.

    ``text`` is the fallback Slack shows in notifications and to clients without Block Kit.
    """
    severities = report.severity_counts
    money = ", ".join(
        f"{currency} {format_money(amount, currency)}"
        for currency, amount in report.money_by_currency.items()
    )
    count = len(report.findings)
    title = f"Reconciliation {report.label.replace('_', ' ')}: {count} finding{'s' if count != 1 else ''}"
    if count:
        fallback = f"dealer-sync {title} ({severities['high']} high), {money} at stake."
        headline = (
            f"*{count}* findings: *{severities['high']}* high, {severities['medium']} medium, "
            f"{severities['low']} low\n*Money at stake:* {_mrkdwn(money)}"
        )
    else:
        fallback = f"dealer-sync {title}: every record matched."
        headline = "No findings: every record matched."
    if report.matched:
        matched = " · ".join(f"{source} {n:,}" for source, n in sorted(report.matched.items()))
        headline += f"\n*Matched:* {_mrkdwn(matched)}"
    if report_location:
        fallback += f" Full report: {report_location}"

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX), "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(headline, _SECTION_TEXT_MAX)}},
    ]
    summary = report.summary
    if summary:
        shown = summary if len(summary) <= _FIELDS_MAX else summary[: _FIELDS_MAX - 1]
        fields = [
            {
                "type": "mrkdwn",
                "text": _clip(
                    f"*{_mrkdwn(row.category)}*\n{row.count} ({row.high} high) · "
                    f"{_mrkdwn(row.currency)} {format_money(row.money_at_stake, row.currency)}",
                    _FIELD_TEXT_MAX,
                ),
            }
            for row in shown
        ]
        if len(summary) > len(shown):
            rest = summary[len(shown) :]
            rest_count = sum(r.count for r in rest)
            fields.append(
                {
                    "type": "mrkdwn",
                    "text": f"*{len(rest)} more categories*\n{rest_count} findings, in the report",
                }
            )
        blocks.append({"type": "section", "fields": fields})
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    where = (
        f"Full report: {_location_mrkdwn(report_location)}"
        if report_location
        else "Full report: in the finance email"
    )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{where} · generated {generated}"}]}
    )
    return {"text": _mrkdwn(fallback), "blocks": blocks}
