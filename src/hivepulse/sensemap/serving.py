"""Serving an ASGI app on loopback with uvicorn: a pre-bound socket (no port race), a daemon-thread server, and
an HTTP protocol that counts TCP connections (the replay server's ``connections`` figure)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Protocol

import uvicorn

from hivepulse.errors import ServiceError
from hivepulse.net import wait_until


class ConnectionCounter(Protocol):
    """What :func:`counting_protocol` reports to (the replay server's state)."""

    def connection_opened(self, peer: tuple[str, int] | None) -> None: ...

    def connection_closed(self, peer: tuple[str, int] | None) -> None: ...


def counting_protocol(state: ConnectionCounter) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class, counting every accepted TCP connection in ``state`` (one protocol
    instance per connection: ``connection_made`` numbers it by its peer address, which is unique while the
    connection is open, so each request can be attributed to its connection)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    base: Any = AutoHTTPProtocol

    class CountingProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._hp_peer = _peer(transport)
            state.connection_opened(self._hp_peer)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            state.connection_closed(getattr(self, "_hp_peer", None))
            super().connection_lost(exc)

    return CountingProtocol


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    info = transport.get_extra_info("peername")
    if isinstance(info, list | tuple) and len(info) >= 2:
        return str(info[0]), int(info[1])
    return None


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one). Raises :class:`ServiceError`."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening socket's
    # proto is IPPROTO_TCP; with proto 0, Nagle + delayed ACK add ~40 ms to every keep-alive response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class ThreadedServer:
    """Run an ASGI app with uvicorn in a daemon thread on a pre-bound socket (no port race).

    Use as a context manager; ``url`` is ``http://host:port``. ``stop()`` shuts down within ~1 s.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 http: type[asyncio.Protocol] | None = None) -> None:
        self.app = app
        self.host = host
        self._sock = bind_socket(host, port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        extra: dict[str, Any] = {"http": http} if http is not None else {}
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False,
                                timeout_graceful_shutdown=1, **extra)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        """Start serving (idempotent) and wait until uvicorn is listening."""
        if self._thread.is_alive() or self._server.started:
            return self
        self._thread.start()
        try:
            wait_until(lambda: self._server.started or None, timeout_s=timeout, interval_s=0.01,
                       what=f"server on {self.url} starting",
                       abort=lambda: None if self._thread.is_alive() else "its thread ended")
        except ServiceError:
            self.stop()
            raise ServiceError(f"server on {self.url} did not start within {timeout:g} s") from None
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["ConnectionCounter", "ThreadedServer", "bind_socket", "counting_protocol"]
