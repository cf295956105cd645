"""Where the cache servers are: the host, port and database inside ``VALKEY_URL`` and ``MEMCACHED_URL``.

(Foundation module: no hivepulse layer, so the HiveBox's settings, the server helpers of ``hivepulse.services``
and the profiling harness read these URLs with one parser.)

- Valkey: ``valkey[s]://[[user]:password@]host[:port][/db]`` (also ``redis[s]://`` and ``unix://``); port
  6379 and database 0 by default.
- Memcached: ``memcached://host[:port]`` or ``host[:port]``; port 11211 by default.

A malformed URL raises ``ValueError`` whose message never contains the URL (it may carry a password); the
caller names the variable and shows the value through :func:`hivepulse.redact.redact_url`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

VALKEY_SCHEMES = ("valkey", "valkeys", "redis", "rediss", "unix")
VALKEY_DEFAULT_PORT = 6379
MEMCACHED_DEFAULT_PORT = 11211


@dataclass(frozen=True)
class Address:
    """A server address: ``host``, ``port`` and (Valkey only) the database number as text."""

    host: str
    port: int
    db: str = "0"


def valkey_address(url: str) -> Address:
    """The address inside a Valkey URL (``unix://`` URLs give host ``""``); ``ValueError`` when malformed."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        raise ValueError("not a URL with a numeric port") from None
    db = parsed.path.strip("/")
    if parsed.scheme not in VALKEY_SCHEMES:
        raise ValueError("unknown scheme")
    if parsed.scheme != "unix":
        if not parsed.hostname:
            raise ValueError("no host")
        if port is not None and port <= 0:
            raise ValueError("port out of range")
        if db and not db.isdigit():
            raise ValueError("database is not a number")
    return Address(parsed.hostname or "", port or VALKEY_DEFAULT_PORT, db or "0")


def memcached_address(url: str) -> Address:
    """``memcached://host:port`` (or ``host:port``) -> its address; ``ValueError`` when malformed."""
    text = url if "://" in url else f"memcached://{url}"
    parsed = urlparse(text)
    try:
        port = parsed.port or MEMCACHED_DEFAULT_PORT
    except ValueError:
        port = -1
    if parsed.scheme != "memcached" or not parsed.hostname or port <= 0:
        raise ValueError("expected memcached://host:port")
    return Address(parsed.hostname, port)


__all__ = ["Address", "MEMCACHED_DEFAULT_PORT", "VALKEY_DEFAULT_PORT", "VALKEY_SCHEMES",
           "memcached_address", "valkey_address"]
