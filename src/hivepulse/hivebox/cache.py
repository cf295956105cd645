"""Cache backends for HiveBox (``HIVEBOX_CACHE``): ``memory``, ``valkey``, ``memcached`` (``none`` = no object).

All expose the same async API on bytes: ``get(key) -> bytes | None``, ``set(key, value, ttl_s)``,
``delete(key)``, ``aclose()``. Backends raise on failure (server down, timeout); the service turns a failure
into a miss plus a ``hivebox_cache_errors_total`` increment, never an HTTP 500.

TTL precision: memory and Valkey expire at ``ttl_s`` (Valkey ``PX`` in milliseconds); memcached takes whole
seconds (``ceil(ttl_s)``, at least 1) and its clock ticks once per second, so an entry lives between
``ceil(ttl_s) - 1`` and ``ceil(ttl_s)`` seconds.
"""

from __future__ import annotations

import asyncio
import math
import time

from hivepulse.hivebox.config import HiveboxConfig, parse_memcached_url


class Cache:
    """Interface of a cache backend."""

    name = "base"

    async def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections."""


class MemoryCache(Cache):
    """In-process dict with monotonic-clock expiry (per process: each worker has its own)."""

    name = "memory"

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if time.monotonic() >= expires:
            self._data.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._data[key] = (time.monotonic() + ttl_s, value)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)


class ValkeyCache(Cache):
    """Valkey (or Redis) through ``valkey.asyncio``; no client-side retries, short socket timeouts."""

    name = "valkey"

    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        import valkey.asyncio as valkey_async

        self.client = valkey_async.from_url(  # type: ignore[no-untyped-call]
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry_on_timeout=False,
            retry=None, health_check_interval=0)

    async def get(self, key: str) -> bytes | None:
        return await self.client.get(key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self.client.set(key, value, px=max(1, int(ttl_s * 1000)))

    async def delete(self, key: str) -> None:
        await self.client.delete(key)

    async def aclose(self) -> None:
        await self.client.aclose()


class MemcachedCache(Cache):
    """Memcached through ``pymemcache``'s thread-safe pooled client, called in worker threads so a slow
    server never blocks the event loop."""

    name = "memcached"

    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        from pymemcache.client.base import PooledClient

        host, port = parse_memcached_url(url)
        self.client = PooledClient((host, port), connect_timeout=timeout_s, timeout=timeout_s,
                                   max_pool_size=64, no_delay=True)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self.client.get, key)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        ok = await asyncio.to_thread(self.client.set, key, value, max(1, math.ceil(ttl_s)), False)
        if not ok:
            raise RuntimeError("memcached did not store the value")

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete, key, False)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.client.close)


def make_cache(config: HiveboxConfig) -> Cache | None:
    """The backend selected by ``config.cache`` (None for ``none``)."""
    if config.cache == "memory":
        return MemoryCache()
    if config.cache == "valkey":
        assert config.valkey_url
        return ValkeyCache(config.valkey_url, config.cache_timeout_s)
    if config.cache == "memcached":
        assert config.memcached_url
        return MemcachedCache(config.memcached_url, config.cache_timeout_s)
    return None
