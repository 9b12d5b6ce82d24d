"""Sends the finance email over SMTP (plain, STARTTLS or implicit TLS) and builds that email."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.smtp_email.errors import SmtpDeliveryError, smtp_error
from dealer_sync.report import (
    ReconciliationReport,
    format_money,
    render_chart_png,
    render_csv,
    render_html,
    render_text,
    report_basename,
)
from dealer_sync.timeutil import utcnow

if TYPE_CHECKING:
    from dealer_sync.settings import SmtpSettings

Security = Literal["none", "starttls", "ssl"]
SECURITY_MODES: tuple[str, ...] = get_args(Security)

log = logging.getLogger("dealer_sync.connectors.smtp_email")


class SmtpMailer:
    """One SMTP server, and the rule for how hard to try it.

    A send makes at most ``max_attempts`` (3) tries, waiting ``backoff_seconds`` and then twice
    that between them, and only after a connection failure or a 4xx (temporary) reply. A 5xx
    reply, rejected credentials and untrusted TLS are permanent and raised at once. Anything
    longer-lived (a mail server down for an hour) is the flow's retry to own, not this loop's.

    Credentials are only sent over TLS: with ``security="none"`` a username is refused, because
    AUTH PLAIN/LOGIN on a clear connection hands the password to anyone on the path.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "none",
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 30.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, got {security!r}")
        if (username is None) != (password is None):
            raise ValueError("give both an SMTP username and a password, or neither")
        if username is not None and security == "none":
            raise ValueError(
                'SMTP credentials need security "starttls" or "ssl"; refusing to send them in clear'
            )
        if not 1 <= max_attempts <= 3:
            raise ValueError("max_attempts must be between 1 and 3")
        if timeout <= 0 or backoff_seconds < 0:
            raise ValueError("timeout must be positive and backoff_seconds not negative")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        # A default context verifies the certificate chain and the host name.
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    @classmethod
    def from_settings(
        cls, settings: SmtpSettings, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> SmtpMailer:
        security = settings.security
        if security not in SECURITY_MODES:  # the settings pattern already guarantees this
            raise ValueError(f"unknown SMTP security {security!r}")
        return cls(
            settings.host,
            settings.port,
            security,  # type: ignore[arg-type]
            settings.username,
            settings.password,
            timeout,
            ssl_context=ssl_context,
        )

    @property
    def server(self) -> str:
        """How errors and logs name the server: host, port and mode, nothing secret."""
        return f"SMTP {self.host}:{self.port} ({self.security})"

    def __repr__(self) -> str:
        return f"SmtpMailer({self.server}, username={self.username!r})"

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to the recipients in its To/Cc/Bcc headers.

        Raises:
            SmtpDeliveryError: when the server refused it, or still could not be reached after
                the bounded retries. Its message has the server's reply, never the password.
        """
        redact = (self._password.get_secret_value(),) if self._password else ()
        attempt = 1
        while True:
            try:
                refused = self._send_once(message)
            except Exception as exc:
                error = smtp_error(exc, server=self.server, redact=redact)
                error.attempts = attempt
                if not error.retryable or attempt >= self.max_attempts:
                    # ``from None``: the chained smtplib exception may carry unredacted server text.
                    raise error from None
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning(
                    "%s (attempt %d of %d); retrying in %.1f s", error, attempt, self.max_attempts, delay
                )
                time.sleep(delay)
                attempt += 1
                continue
            if refused:
                # Some recipients have the message already; sending again would duplicate it for
                # them, so this is reported, not retried.
                detail = "; ".join(f"{addr}: {code}" for addr, (code, _) in sorted(refused.items()))
                raise SmtpDeliveryError(
                    f"{self.server} delivered to some recipients but refused {detail}",
                    kind=ErrorKind.BAD_REQUEST,
                    smtp_code=max(code for code, _ in refused.values()),
                    attempts=attempt,
                    refused=refused,
                )
            return

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _send_once(self, message: EmailMessage) -> dict[str, tuple[int, str]]:
        smtp = self._connect()
        try:
            if self.security == "starttls":
                smtp.starttls(context=self._context())
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password.get_secret_value())
            refused = smtp.send_message(message)
        except BaseException:
            smtp.close()
            raise
        # Not ``with smtp``: its exit raises on a bad QUIT reply, and once the server has taken
        # the message a failure to say goodbye must not turn into a resend.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.debug("%s: QUIT failed after delivery (%s); ignored", self.server, type(exc).__name__)
        finally:
            smtp.close()
        return {
            addr: (code, reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply))
            for addr, (code, reply) in refused.items()
        }


def _message_domain(sender: str) -> str:
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return domain or "dealer-sync.invalid"


def build_finance_email(
    report: ReconciliationReport,
    sender: str,
    recipients: Sequence[str],
    subject_prefix: str = "dealer-sync",
) -> EmailMessage:
    """The finance email: text and HTML alternatives, the chart inline, the CSV attached.

    Structure (what mail clients expect for an HTML body with an inline image and an attachment)::

        multipart/mixed
          multipart/alternative
            text/plain
            multipart/related
              text/html          <img src="cid:...">
              image/png          Content-ID: <...>
          text/csv               attachment; filename=reconciliation_<date>.csv
    """
    if not recipients:
        raise ValueError("the finance email needs at least one recipient")
    domain = _message_domain(sender)
    chart_cid = make_msgid("chart", domain=domain)  # "<...@domain>", globally unique
    basename = report_basename(report)
    counts = report.severity_counts
    money = ", ".join(
        f"{cur} {format_money(amount, cur)}" for cur, amount in report.money_by_currency.items()
    )
    period = report.label.replace("_", " ")
    subject = f"[{subject_prefix}] Reconciliation {period}: {len(report.findings)} findings"
    if report.findings:
        subject += f" ({counts['high']} high), {money} at stake"

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid("reconciliation", domain=domain)
    message.set_content(render_text(report))
    message.add_alternative(render_html(report, chart_cid), subtype="html")
    html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    html_part.add_related(
        render_chart_png(report),
        maintype="image",
        subtype="png",
        cid=chart_cid,
        filename=f"{basename}.png",
        disposition="inline",
    )
    # Attached as bytes (base64) so the BOM and CRLFs reach Excel exactly as rendered.
    message.add_attachment(
        render_csv(report),
        maintype="text",
        subtype="csv",
        filename=f"{basename}.csv",
        params={"charset": "utf-8"},
    )
    return message
