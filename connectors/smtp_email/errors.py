"""SMTP's error table: reply codes and socket failures mapped onto our error kinds."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping

from connectors.http.errors import ConnectorError, ErrorKind


class SmtpError(ConnectorError):
    """Any failure sending mail. Messages carry the server's reply, never the password."""


class SmtpDeliveryError(SmtpError):
    """The message was not delivered (or, with ``refused``, not to every recipient).

    ``kind`` is ``RETRY`` for a 4xx reply or a connection that failed (the mailer has already
    retried those within its bound), ``AUTH`` for rejected credentials or TLS, and ``BAD_REQUEST``
    for a permanent 5xx reply that no retry will change.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        smtp_code: int | None = None,
        attempts: int = 1,
        refused: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.smtp_code = smtp_code
        self.attempts = attempts
        self.refused: dict[str, tuple[int, str]] = dict(refused or {})

    def __str__(self) -> str:
        parts = [self.message, f"kind={self.kind.value}"]
        if self.smtp_code is not None:
            parts.append(f"smtp={self.smtp_code}")
        if self.attempts > 1:
            parts.append(f"attempts={self.attempts}")
        return " ".join(parts)

    @property
    def permanent(self) -> bool:
        """True when sending the same message again cannot succeed (or would duplicate it)."""
        return not self.retryable


def _reply_text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return " ".join(text.split())[:300]


def _kind_for_code(code: int) -> ErrorKind:
    if code in (530, 534, 535, 538):  # authentication required / too weak / rejected
        return ErrorKind.AUTH
    if 400 <= code < 500:
        return ErrorKind.RETRY
    return ErrorKind.BAD_REQUEST


def smtp_error(exc: BaseException, *, server: str, redact: tuple[str, ...] = ()) -> SmtpDeliveryError:
    """Classify one failure of an SMTP session.

    ``redact`` lists strings (the password) to cut from server replies before they go into the
    message: a badly behaved server may echo what it was sent.
    """

    def clean(text: str) -> str:
        for secret in redact:
            if secret:
                text = text.replace(secret, "***")
        return text

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = {addr: (code, clean(_reply_text(reply))) for addr, (code, reply) in exc.recipients.items()}
        codes = [code for code, _ in refused.values()]
        temporary = all(400 <= code < 500 for code in codes)
        detail = "; ".join(f"{addr}: {code} {reply}" for addr, (code, reply) in sorted(refused.items()))
        return SmtpDeliveryError(
            f"{server} refused every recipient: {detail}",
            kind=ErrorKind.RETRY if temporary else ErrorKind.BAD_REQUEST,
            smtp_code=max(codes) if codes else None,
            refused=refused,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = int(exc.smtp_code)
        reply = clean(_reply_text(exc.smtp_error))
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            what = "rejected the credentials"
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            what = "refused the sender"
        elif isinstance(exc, smtplib.SMTPDataError):
            what = "refused the message"
        else:
            what = "answered"
        return SmtpDeliveryError(
            f"{server} {what}: {code} {reply}", kind=_kind_for_code(code), smtp_code=code
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # Raised by starttls()/login() when the server does not offer the extension; sending in the
        # clear instead would be a silent downgrade, so this is a configuration problem.
        return SmtpDeliveryError(f"{server} does not support {clean(str(exc))}", kind=ErrorKind.AUTH)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SmtpDeliveryError(f"{server} closed the connection", kind=ErrorKind.RETRY)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpDeliveryError(
            f"{server}: TLS certificate not trusted ({exc.verify_message})", kind=ErrorKind.AUTH
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        return SmtpDeliveryError(f"{server}: TLS failed ({reason})", kind=ErrorKind.AUTH)
    if isinstance(exc, smtplib.SMTPException):
        return SmtpDeliveryError(f"{server}: {clean(str(exc))}", kind=ErrorKind.BAD_REQUEST)
    if isinstance(exc, TimeoutError):
        return SmtpDeliveryError(f"{server} did not answer in time", kind=ErrorKind.RETRY)
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return SmtpDeliveryError(f"cannot reach {server}: {reason}", kind=ErrorKind.RETRY)
    return SmtpDeliveryError(f"{server}: {type(exc).__name__}", kind=ErrorKind.BAD_REQUEST)
