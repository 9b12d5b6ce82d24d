"""Serve a simulator's ASGI app with uvicorn on a free loopback port in a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

# A dropped connection (fault "drop_after_commit") makes uvicorn log this line at ERROR level.
# It is the intended behaviour of the fault, so it is filtered out instead of alarming readers.
_DROP_MESSAGE = "ASGI callable returned without completing response."


class _DroppedResponseFilter(logging.Filter):
    """Hide uvicorn's report of a response the fault injector cut off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


_filter_lock = threading.Lock()
_filter_installed = False


def _install_drop_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("uvicorn.error").addFilter(_DroppedResponseFilter())
            _filter_installed = True


class SimulatorServerError(RuntimeError):
    """The simulator server could not start or stop in time."""


class SimulatorServer:
    """One ASGI app on 127.0.0.1, started in a daemon thread; never binds a public interface.

    The socket is bound before uvicorn starts (port 0 = a free port chosen by the kernel), so the
    URL is known at once and no other process can take the port in between.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "simulator",
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"simulators only listen on loopback, not {host!r}")
        self.app = app
        self.host = "127.0.0.1" if host == "localhost" else host
        self.requested_port = port
        self.name = name
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise SimulatorServerError(f"{self.name} is not running")
        return self._port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:53211``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SimulatorServer:
        """Start serving and return once the port accepts connections (bounded wait)."""
        if self.running:
            return self
        _install_drop_filter()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it every response waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        self._socket = sock
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # never reconfigure the host process's logging
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.name}", daemon=True
        )
        self._thread.start()
        self._wait_until_accepting()
        return self

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._thread is None or not self._thread.is_alive():
                raise SimulatorServerError(f"{self.name} exited during startup")
            if self._server is not None and self._server.started and self._accepts():
                return
            time.sleep(0.005)
        self.stop()
        raise SimulatorServerError(f"{self.name} did not start within {self.startup_timeout}s")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def request_stop(self) -> None:
        """Ask uvicorn to exit without waiting (lets several servers wind down in parallel)."""
        if self._server is not None:
            self._server.should_exit = True

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread (bounded) and release the socket."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(self.shutdown_timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(self.shutdown_timeout)
        if self._socket is not None:
            self._socket.close()
        alive = self._thread is not None and self._thread.is_alive()
        self._server = None
        self._thread = None
        self._socket = None
        self._port = None
        if alive:
            raise SimulatorServerError(f"{self.name} did not stop within the timeout")

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
