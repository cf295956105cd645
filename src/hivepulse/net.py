"""Loopback networking helpers shared by the services, servers and harness: free ports and waiting.

One implementation of each: :func:`free_port` (a port the OS picked), :func:`wait_until` (poll a condition with
a deadline, the one polling loop every "wait for X" builds on) and :func:`wait_for_port` (a TCP listener).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

from hivepulse.errors import ServiceError

LOOPBACK = "127.0.0.1"

T = TypeVar("T")


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.02,
    what: str = "the condition",
    abort: Callable[[], str | None] | None = None,
) -> T:
    """Call ``check`` until it returns something other than ``None``/``False`` and return that value.

    ``abort`` (optional) is called before each try; a string it returns stops the wait at once with that
    reason (e.g. "process exited with status 1"). After ``timeout_s`` seconds, :class:`ServiceError` says
    what did not happen. ``check`` may raise ``OSError`` for "not yet" (connection refused)."""
    deadline = time.monotonic() + timeout_s
    last: str = ""
    while True:
        if abort is not None:
            reason = abort()
            if reason:
                raise ServiceError(f"{what}: {reason}")
        try:
            result = check()
            if result is not None and result is not False:
                return result
        except OSError as exc:
            last = f" (last error: {type(exc).__name__})"
        if time.monotonic() >= deadline:
            raise ServiceError(f"{what} did not happen within {timeout_s:g} s{last}")
        time.sleep(interval_s)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when ``host:port`` accepts a TCP connection now."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until ``host:port`` accepts TCP connections; :class:`ServiceError` after ``timeout`` s."""
    wait_until(lambda: port_open(host, port) or None, timeout_s=timeout,
               what=f"a listener on {host}:{port}")


__all__ = ["LOOPBACK", "free_port", "port_open", "wait_for_port", "wait_until"]
