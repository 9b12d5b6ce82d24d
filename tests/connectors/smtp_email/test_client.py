"""SmtpMailer and build_finance_email against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import csv
import email
import io
import re
import time
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from pydantic import SecretStr

from connectors.http.errors import ErrorKind
from connectors.smtp_email import SmtpDeliveryError, SmtpMailer, build_finance_email
from dealer_sync.report import CSV_COLUMNS, ReconciliationReport
from dealer_sync.settings import SmtpSettings
from tests.connectors.smtp_email.loopback import (
    DEVANAGARI_NAME,
    PASSWORD,
    TRICKY_NAME,
    USERNAME,
    RecordingHandler,
    ServerFactory,
    TlsFiles,
    check_password,
    free_port,
)

SENDER = "dealer-sync@example.com"
FINANCE = ["finance@example.com"]


def mailer(port: int, **kwargs: object) -> SmtpMailer:
    options: dict[str, object] = {"timeout": 5.0, "local_hostname": "client.test", "backoff_seconds": 0.01}
    options.update(kwargs)
    return SmtpMailer("127.0.0.1", port, **options)  # type: ignore[arg-type]


def parse(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def assert_secret_free(error: BaseException) -> None:
    for text in (str(error), repr(error), *map(str, error.args)):
        assert PASSWORD not in text
    assert error.__cause__ is None  # smtplib's own exception is not chained into tracebacks


def test_plain_smtp_delivers_html_inline_chart_and_csv(
    smtp_server: ServerFactory, report: ReconciliationReport
) -> None:
    server = smtp_server()
    message = build_finance_email(report, SENDER, FINANCE)

    mailer(server.port).send(message)

    [received] = server.handler.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == FINANCE
    assert not received.tls and not received.authenticated
    parsed = parse(received.content)
    assert parsed.get_content_type() == "multipart/mixed"
    assert "Reconciliation 2024-05-01: 4 findings (2 high)" in parsed["Subject"]

    body = parsed.get_body(preferencelist=("html",))
    assert body is not None
    html = body.get_content()
    # headline and summary numbers
    assert "INR 146,500.00" in html  # total money at stake
    assert "INR 125,000.00" in html and "INR 20,000.00" in html and "INR 1,500.00" in html
    assert "portal: 1200" in html
    # the tricky dealer name, escaped; the Devanagari one intact
    assert "&lt;b&gt;R&amp;D &quot;Motors&quot;&lt;/b&gt;" in html
    assert TRICKY_NAME not in html
    assert DEVANAGARI_NAME in html
    assert "<code" in html and "dealer-sync replay --order PO-1001" in html

    # the inline chart, referenced by its Content-ID
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == 1
    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    image = images[0]
    assert image["Content-ID"] == f"<{cids[0]}>"
    assert image.get_content_disposition() == "inline"
    png = image.get_content()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    related = next(part for part in parsed.walk() if part.get_content_type() == "multipart/related")
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]

    # the plain-text alternative
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None and "4 findings" in text.get_content()

    # the CSV attachment: its rows are the findings
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "reconciliation_2024-05-01.csv"
    assert attachment.get_content_charset() == "utf-8"
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    expected = [
        {
            "category": f.category,
            "severity": f.severity,
            "dealer_key": f.dealer_key or "",
            "dealer_name": f.dealer_name or "",
            "order_key": f.order_key or "",
            "invoice_key": f.invoice_key or "",
            "currency": f.currency,
            "money_at_stake": Decimal(f.money_at_stake),
            "age_days": str(f.age_days),
            "detail": f.detail,
            "remedy": f.remedy,
        }
        for f in report.ranked_findings
    ]
    actual = [{**row, "money_at_stake": Decimal(row["money_at_stake"])} for row in rows]
    assert actual == expected


def test_starttls_with_auth(
    smtp_server: ServerFactory, tls_files: TlsFiles, report: ReconciliationReport
) -> None:
    server = smtp_server(
        tls_context=tls_files.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=check_password,
    )
    smtp = mailer(
        server.port,
        security="starttls",
        username=USERNAME,
        password=SecretStr(PASSWORD),
        ssl_context=tls_files.client_context(),
    )

    smtp.send(build_finance_email(report, SENDER, FINANCE))

    [received] = server.handler.received
    assert received.tls and received.authenticated
    assert parse(received.content).get_body(preferencelist=("html",)) is not None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_with_auth(
    smtp_server: ServerFactory, tls_files: TlsFiles, report: ReconciliationReport
) -> None:
    # aiosmtpd cannot tell that an implicit-TLS socket is encrypted, so it is told not to insist.
    server = smtp_server(
        ssl_context=tls_files.server_context(),
        auth_required=True,
        auth_require_tls=False,
        authenticator=check_password,
    )
    smtp = mailer(
        server.port,
        security="ssl",
        username=USERNAME,
        password=SecretStr(PASSWORD),
        ssl_context=tls_files.client_context(),
    )

    smtp.send(build_finance_email(report, SENDER, FINANCE))

    [received] = server.handler.received
    assert received.tls and received.authenticated


def test_untrusted_certificate_is_refused_not_retried(
    smtp_server: ServerFactory, tls_files: TlsFiles, report: ReconciliationReport
) -> None:
    server = smtp_server(tls_context=tls_files.server_context(), require_starttls=True)
    # The default context trusts only the system's CAs: a self-signed certificate must fail.
    smtp = mailer(server.port, security="starttls", username=USERNAME, password=SecretStr(PASSWORD))

    with pytest.raises(SmtpDeliveryError) as caught:
        smtp.send(build_finance_email(report, SENDER, FINANCE))

    assert caught.value.kind is ErrorKind.AUTH
    assert caught.value.attempts == 1
    assert "certificate" in str(caught.value)
    assert_secret_free(caught.value)
    assert server.handler.received == []


def test_wrong_password_is_an_auth_error_without_the_password(
    smtp_server: ServerFactory, tls_files: TlsFiles, report: ReconciliationReport
) -> None:
    server = smtp_server(
        tls_context=tls_files.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=check_password,
    )
    wrong = PASSWORD + "-wrong"
    smtp = mailer(
        server.port,
        security="starttls",
        username=USERNAME,
        password=SecretStr(wrong),
        ssl_context=tls_files.client_context(),
    )

    with pytest.raises(SmtpDeliveryError) as caught:
        smtp.send(build_finance_email(report, SENDER, FINANCE))

    error = caught.value
    assert error.kind is ErrorKind.AUTH and error.smtp_code == 535 and error.attempts == 1
    for text in (str(error), repr(error)):
        assert wrong not in text
    assert_secret_free(error)
    assert server.handler.received == []


def test_550_is_permanent_and_names_no_password(
    smtp_server: ServerFactory, tls_files: TlsFiles, report: ReconciliationReport
) -> None:
    handler = RecordingHandler(
        refuse={"finance@example.com": "550 5.1.1 <finance@example.com>: no such user"}
    )
    server = smtp_server(
        handler,
        tls_context=tls_files.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=check_password,
    )
    smtp = mailer(
        server.port,
        security="starttls",
        username=USERNAME,
        password=SecretStr(PASSWORD),
        ssl_context=tls_files.client_context(),
    )

    with pytest.raises(SmtpDeliveryError) as caught:
        smtp.send(build_finance_email(report, SENDER, FINANCE))

    error = caught.value
    assert error.smtp_code == 550 and error.permanent and error.attempts == 1
    assert error.kind is ErrorKind.BAD_REQUEST
    assert "no such user" in str(error) and "finance@example.com" in str(error)
    assert_secret_free(error)
    assert handler.rcpt_calls == 1  # no retry of a permanent refusal
    assert handler.received == []


def test_temporary_refusal_is_retried_then_delivered(
    smtp_server: ServerFactory, report: ReconciliationReport
) -> None:
    handler = RecordingHandler(rcpt_replies=["451 4.3.0 mailbox busy, try later"])
    server = smtp_server(handler)

    mailer(server.port).send(build_finance_email(report, SENDER, FINANCE))

    assert handler.rcpt_calls == 2
    assert len(handler.received) == 1


def test_persistent_temporary_refusal_gives_up_after_three_attempts(
    smtp_server: ServerFactory, report: ReconciliationReport
) -> None:
    handler = RecordingHandler(rcpt_replies=["451 4.3.0 try later"] * 10)
    server = smtp_server(handler)

    with pytest.raises(SmtpDeliveryError) as caught:
        mailer(server.port).send(build_finance_email(report, SENDER, FINANCE))

    assert caught.value.kind is ErrorKind.RETRY and caught.value.smtp_code == 451
    assert caught.value.attempts == 3 and handler.rcpt_calls == 3
    assert handler.received == []


def test_partial_refusal_is_reported_not_resent(
    smtp_server: ServerFactory, report: ReconciliationReport
) -> None:
    handler = RecordingHandler(refuse={"gone@example.com": "550 5.1.1 no such user"})
    server = smtp_server(handler)
    message = build_finance_email(report, SENDER, ["finance@example.com", "gone@example.com"])

    with pytest.raises(SmtpDeliveryError) as caught:
        mailer(server.port).send(message)

    assert caught.value.refused == {"gone@example.com": (550, "5.1.1 no such user")}
    assert caught.value.permanent and caught.value.attempts == 1
    [received] = handler.received
    assert received.rcpt_tos == ["finance@example.com"]


def test_connection_refused_is_retried_within_bound(report: ReconciliationReport) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()

    with pytest.raises(SmtpDeliveryError) as caught:
        mailer(port, backoff_seconds=0.05).send(build_finance_email(report, SENDER, FINANCE))

    assert caught.value.kind is ErrorKind.RETRY and caught.value.attempts == 3
    assert "cannot reach SMTP 127.0.0.1" in str(caught.value)
    assert time.monotonic() - started < 5


def test_credentials_are_never_sent_in_clear() -> None:
    with pytest.raises(ValueError, match="clear"):
        SmtpMailer("127.0.0.1", 25, "none", USERNAME, SecretStr(PASSWORD))
    with pytest.raises(ValueError, match="both"):
        SmtpMailer("127.0.0.1", 25, "starttls", USERNAME, None)


def test_from_settings_and_repr_hide_the_password() -> None:
    settings = SmtpSettings(
        host="mail.example.com",
        port=587,
        security="starttls",
        username=USERNAME,
        password=SecretStr(PASSWORD),
    )
    smtp = SmtpMailer.from_settings(settings, timeout=7.0)
    assert (smtp.host, smtp.port, smtp.security, smtp.timeout) == ("mail.example.com", 587, "starttls", 7.0)
    assert PASSWORD not in repr(smtp) and PASSWORD not in repr(vars(smtp))


def test_finance_email_needs_recipients_and_refuses_header_injection(report: ReconciliationReport) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_finance_email(report, SENDER, [])
    with pytest.raises(ValueError):
        build_finance_email(report, SENDER, FINANCE, subject_prefix="x\r\nBcc: attacker@example.com")


def test_starttls_missing_on_the_server_is_not_a_silent_downgrade(
    smtp_server: ServerFactory, report: ReconciliationReport
) -> None:
    server = smtp_server()  # no tls_context: the server does not offer STARTTLS
    smtp = mailer(server.port, security="starttls", username=USERNAME, password=SecretStr(PASSWORD))

    with pytest.raises(SmtpDeliveryError) as caught:
        smtp.send(build_finance_email(report, SENDER, FINANCE))

    assert caught.value.kind is ErrorKind.AUTH and caught.value.attempts == 1
    assert "STARTTLS" in str(caught.value)
    assert_secret_free(caught.value)
    assert server.handler.received == []
