"""A real SMTP server on loopback (aiosmtpd), a self-signed certificate for it, and a tricky report."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dealer_sync.report import Finding, ReconciliationReport
from tests.connectors.smtp_email.loopback import (
    DEVANAGARI_NAME,
    TRICKY_NAME,
    RecordingHandler,
    RunningServer,
    ServerFactory,
    TlsFiles,
    free_port,
)


@pytest.fixture
def report() -> ReconciliationReport:
    findings = [
        Finding(
            category="missing_invoice",
            severity="high",
            currency="INR",
            money_at_stake=Decimal("125000.00"),
            age_days=3,
            remedy="dealer-sync replay --order PO-1001",
            detail="Order confirmed, no invoice in Zoho Books",
            order_key="PO-1001",
            dealer_key="D-7",
            dealer_name=TRICKY_NAME,
        ),
        Finding(
            category="amount_mismatch",
            severity="medium",
            currency="INR",
            money_at_stake=Decimal("1499.50"),
            age_days=12,
            remedy="Check the price list of dealer D-9, then reissue the invoice",
            detail='Portal total 10,000.00 vs invoice 8,500.50; note "GST" line',
            order_key="PO-1002",
            invoice_key="INV-77",
            dealer_key="D-9",
            dealer_name=DEVANAGARI_NAME,
        ),
        Finding(
            category="amount_mismatch",
            severity="low",
            currency="INR",
            money_at_stake=Decimal("0.50"),
            age_days=1,
            remedy="Round-off difference: no action",
            detail="Rounding",
            order_key="PO-1003",
            invoice_key="INV-78",
            dealer_key="D-1",
            dealer_name="Acme, Traders",
        ),
        Finding(
            category="orphan_invoice",
            severity="high",
            currency="INR",
            money_at_stake=Decimal("20000"),
            age_days=40,
            remedy="dealer-sync quarantine show INV-80",
            detail="Invoice without a portal order",
            invoice_key="INV-80",
            dealer_key="D-2",
        ),
    ]
    return ReconciliationReport(
        window_start=dt.date(2024, 5, 1),
        generated_at=dt.datetime(2024, 5, 2, 2, 5, tzinfo=dt.UTC),
        findings=findings,
        matched={"portal": 1200, "inventory": 1180, "accounting": 1175},
    )


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, made here so no key material is checked in."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dealer-sync test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(cert=cert_path, key=key_path)


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Start aiosmtpd on a free loopback port with the given SMTP options; stop them all after."""
    controllers: list[Controller] = []

    def start(handler: RecordingHandler | None = None, **options: Any) -> RunningServer:
        handler = handler or RecordingHandler()
        port = free_port()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname="smtp.test",  # else aiosmtpd asks DNS for the machine's FQDN
            ready_timeout=10.0,
            **options,
        )
        controller.start()
        controllers.append(controller)
        return RunningServer(handler=handler, port=port)

    yield start
    for controller in controllers:
        controller.stop()
