"""Slack incoming webhooks' error table: status and body text mapped onto our error kinds."""

from __future__ import annotations

from connectors.http.errors import ConnectorError, ErrorKind


class SlackError(ConnectorError):
    """Any failure posting to Slack. Messages never contain the webhook URL: it is the credential."""


class SlackDeliveryError(SlackError):
    """Slack did not take the message (or may not have: ``kind`` says which)."""


# Incoming webhooks answer errors with a short plain-text code in the body.
_CONFIG_CODES = frozenset(
    {
        "invalid_token",
        "no_service",
        "no_team",
        "team_disabled",
        "channel_not_found",
        "channel_is_archived",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "no_service_id",
    }
)


def slack_error(
    status: int, body: str, retry_after: float | None = None, *, redact: tuple[str, ...] = ()
) -> SlackDeliveryError:
    """Classify one answer that was not ``200 ok``.

    A 5xx (or a 2xx with an unexpected body) may have posted the message, so it is ``UNCERTAIN``:
    posting again could show finance the summary twice. 403/404/410 and token errors are
    configuration (``AUTH``); other 4xx mean the payload is wrong (``BAD_REQUEST``). ``redact``
    lists strings (the webhook URL and its path) to cut from the body before it is quoted, in case
    a proxy's error page echoes the request.
    """
    for secret in redact:
        if secret:
            body = body.replace(secret, "***")
    code = " ".join(body.split())[:100] or None
    text = f"Slack webhook answered {status}" + (f": {code}" if code else "")
    if status == 429:
        return SlackDeliveryError(
            text, kind=ErrorKind.RATE_LIMITED, status_code=status, vendor_code=code, retry_after=retry_after
        )
    if status in (401, 403, 404, 410) or (code is not None and code in _CONFIG_CODES):
        kind = ErrorKind.AUTH
    elif 400 <= status < 500:
        kind = ErrorKind.BAD_REQUEST
    else:
        kind = ErrorKind.UNCERTAIN
    return SlackDeliveryError(text, kind=kind, status_code=status, vendor_code=code)
