"""Pieces of the loopback SMTP test server: a recording handler, a password check, free ports."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "finance-bot"
PASSWORD = "s3cr3t-Pa55-do-not-leak"
TRICKY_NAME = '<b>R&D "Motors"</b>'
DEVANAGARI_NAME = "शर्मा मोटर्स, पुणे"


@dataclass
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this certificate, with host name checking on."""
        return ssl.create_default_context(cafile=str(self.cert))


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool


@dataclass
class RecordingHandler:
    """Records every message; ``rcpt_replies`` scripts RCPT answers (None: accept) call by call.

    ``refuse`` maps an address to a permanent reply used for every RCPT to it.
    """

    rcpt_replies: list[str | None] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    rcpt_calls: int = 0
    connections_with_tls: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpt_calls += 1
        if address in self.refuse:
            return self.refuse[address]
        reply = self.rcpt_replies.pop(0) if self.rcpt_replies else None
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content or envelope.content,
                authenticated=bool(session.authenticated),
                tls=tls,
            )
        )
        return "250 Message accepted for delivery"


def check_password(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    handler: RecordingHandler
    port: int


ServerFactory = Callable[..., RunningServer]
