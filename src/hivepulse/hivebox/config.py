"""HiveBox configuration, read once from environment variables (documented in docs/hivebox.md).

Secrets (``S3_ACCESS_KEY``, ``S3_SECRET_KEY``) are kept out of ``repr`` and :meth:`HiveboxConfig.describe`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from hivepulse import __version__
from hivepulse.endpoints import memcached_address, valkey_address
from hivepulse.errors import InputError
from hivepulse.opensensemap import PUBLIC_API, is_valid_box_id
from hivepulse.redact import redact_text, redact_url

#: The senseBox ids the DevOps roadmap's HiveBox template recommends.
DEFAULT_BOX_IDS = ("5eba5fbad46fb8001b799786", "5c21ff8f919bf8001adf2488", "5ade1acf223bd80019a1011c")
CACHE_BACKENDS = ("none", "memory", "valkey", "memcached")
CLIENTS = ("naive", "pooled", "concurrent")
SINGLE_FLIGHT_MODES = ("off", "wait", "stale")
SEMVER_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class S3Settings:
    """Where ``/store`` writes. ``endpoint`` is ``host:port``; ``secure`` selects https."""

    endpoint: str
    bucket: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool = False
    region: str | None = None
    prefix: str = "hivebox/"


@dataclass(frozen=True)
class HiveboxConfig:
    """All settings of one HiveBox process. Units: seconds unless named otherwise."""

    box_ids: tuple[str, ...] = DEFAULT_BOX_IDS
    api_url: str = PUBLIC_API
    version: str = __version__
    cache: str = "none"
    cache_ttl_s: float = 300.0
    single_flight: str = "off"
    client: str = "pooled"
    upstream_timeout_s: float = 10.0
    max_reading_age_s: float = 3600.0
    ready_max_age_s: float = 300.0
    valkey_url: str | None = None
    memcached_url: str | None = None
    cache_timeout_s: float = 0.5
    s3: S3Settings | None = None
    store_interval_s: float = 300.0
    admin_endpoints: bool = True

    def __repr__(self) -> str:
        """Like the dataclass repr, with credentials inside URLs redacted (S3 keys are never shown)."""
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return redact_text(f"HiveboxConfig({fields})")

    def describe(self) -> dict[str, object]:
        """Settings safe to print or log (no keys)."""
        return {
            "box_ids": list(self.box_ids), "api_url": redact_url(self.api_url), "version": self.version,
            "cache": self.cache, "cache_ttl_s": self.cache_ttl_s, "single_flight": self.single_flight,
            "client": self.client, "upstream_timeout_s": self.upstream_timeout_s,
            "max_reading_age_s": self.max_reading_age_s, "ready_max_age_s": self.ready_max_age_s,
            "valkey_url": redact_url(self.valkey_url), "memcached_url": redact_url(self.memcached_url),
            "s3_endpoint": self.s3.endpoint if self.s3 else None,
            "s3_bucket": self.s3.bucket if self.s3 else None, "store_interval_s": self.store_interval_s,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HiveboxConfig:
        """Read the configuration from ``env`` (default ``os.environ``); bad values raise :class:`InputError`
        naming the variable and what was expected."""
        env = os.environ if env is None else env
        ids = _box_ids(env.get("SENSEBOX_IDS"))
        api_url = env.get("OPENSENSEMAP_API_URL", PUBLIC_API).strip().rstrip("/") or PUBLIC_API
        if urlparse(api_url).scheme not in ("http", "https") or not urlparse(api_url).netloc:
            raise _env_error("OPENSENSEMAP_API_URL", "invalid value", value=api_url,
                             expected="an http(s) URL such as https://api.opensensemap.org")
        version = env.get("HIVEBOX_VERSION", __version__).strip()
        if not SEMVER_RE.match(version):
            raise _env_error("HIVEBOX_VERSION", "invalid value", value=version,
                             expected="a semantic version such as 0.1.0")
        cache = _choice(env, "HIVEBOX_CACHE", "none", CACHE_BACKENDS)
        single_flight = env.get("HIVEBOX_SINGLE_FLIGHT", "off").strip().lower()
        if single_flight in _TRUE:
            single_flight = "wait"
        elif single_flight in _FALSE:
            single_flight = "off"
        if single_flight not in SINGLE_FLIGHT_MODES:
            raise _env_error("HIVEBOX_SINGLE_FLIGHT", "invalid value",
                             value=single_flight, expected="off, wait (or 1/true) or stale")
        valkey_url = env.get("VALKEY_URL") or None
        memcached_url = env.get("MEMCACHED_URL") or None
        if cache == "valkey" and not valkey_url:
            raise _env_error("VALKEY_URL", "HIVEBOX_CACHE=valkey needs a server",
                             expected="a URL such as valkey://127.0.0.1:6379/0")
        if cache == "memcached" and not memcached_url:
            raise _env_error("MEMCACHED_URL", "HIVEBOX_CACHE=memcached needs a server",
                             expected="a URL such as memcached://127.0.0.1:11211")
        if memcached_url:
            parse_memcached_url(memcached_url)
        if valkey_url:
            check_valkey_url(valkey_url)
        return cls(
            box_ids=ids,
            api_url=api_url,
            version=version,
            cache=cache,
            cache_ttl_s=_number(env, "HIVEBOX_CACHE_TTL", 300.0, minimum=0.001),
            single_flight=single_flight,
            client=_choice(env, "HIVEBOX_CLIENT", "pooled", CLIENTS),
            upstream_timeout_s=_number(env, "HIVEBOX_UPSTREAM_TIMEOUT", 10.0, minimum=0.001),
            max_reading_age_s=_number(env, "HIVEBOX_MAX_READING_AGE", 3600.0, minimum=0.0),
            ready_max_age_s=_number(env, "HIVEBOX_READY_MAX_AGE", 300.0, minimum=0.0),
            valkey_url=valkey_url,
            memcached_url=memcached_url,
            cache_timeout_s=_number(env, "HIVEBOX_CACHE_TIMEOUT", 0.5, minimum=0.001),
            s3=_s3(env),
            store_interval_s=_number(env, "HIVEBOX_STORE_INTERVAL", 300.0, minimum=0.0),
            admin_endpoints=_flag(env, "HIVEBOX_ADMIN_ENDPOINTS", True),
        )


def _env_error(name: str, reason: str, *, value: object = None, expected: str | None = None) -> InputError:
    """One-line error naming the environment variable (credentials inside a URL value are redacted)."""
    if isinstance(value, str):
        value = redact_url(value)
    return InputError(f"environment variable {name}: {reason}", value=value, expected=expected)


def check_valkey_url(url: str) -> None:
    """``VALKEY_URL`` must be ``valkey[s]://[:password@]host[:port][/db]`` (or redis[s]://, unix://);
    an InputError names the variable without showing the password."""
    try:
        valkey_address(url)
    except ValueError:
        raise _env_error("VALKEY_URL", "invalid value", value=url,
                         expected="valkey://[:password@]host:port/db (or valkeys://, redis://, rediss://, unix://)"
                         ) from None


def parse_memcached_url(url: str) -> tuple[str, int]:
    """``memcached://host:port`` (or ``host:port``) -> (host, port); default port 11211."""
    try:
        address = memcached_address(url)
    except ValueError:
        raise _env_error("MEMCACHED_URL", "invalid value", value=url, expected="memcached://host:port") from None
    return address.host, address.port


def _box_ids(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return DEFAULT_BOX_IDS
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    for box_id in ids:
        if not is_valid_box_id(box_id):
            raise _env_error("SENSEBOX_IDS", "invalid value", value=box_id,
                             expected="comma-separated 24-hex-digit senseBox ids")
    if len(set(ids)) != len(ids):
        raise _env_error("SENSEBOX_IDS", "duplicate senseBox id", value=raw,
                         expected="each id once")
    return ids


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().lower() or default
    if value not in allowed:
        raise _env_error(name, "invalid value", value=value,
                         expected="one of " + ", ".join(allowed))
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum or value == float("inf"):
        raise _env_error(name, "invalid value", value=raw,
                         expected=f"a number of seconds >= {minimum:g}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _env_error(name, "invalid value", value=raw, expected="1/0, true/false")


def _s3(env: Mapping[str, str]) -> S3Settings | None:
    endpoint = (env.get("S3_ENDPOINT") or "").strip()
    if not endpoint:
        return None
    secure = _flag(env, "S3_SECURE", endpoint.startswith("https://"))
    if "://" in endpoint:
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise _env_error("S3_ENDPOINT", "invalid value", value=endpoint,
                             expected="host:port or an http(s) URL")
        endpoint = parsed.netloc
    missing = [name for name in ("S3_ACCESS_KEY", "S3_SECRET_KEY") if not env.get(name)]
    if missing:
        raise _env_error(missing[0], "S3_ENDPOINT is set but a key is missing",
                         expected="the access key and secret key of the bucket")
    bucket = (env.get("S3_BUCKET") or "hivebox").strip()
    if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket):
        raise _env_error("S3_BUCKET", "invalid value", value=bucket,
                         expected="an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    return S3Settings(
        endpoint=endpoint, bucket=bucket, access_key=env["S3_ACCESS_KEY"], secret_key=env["S3_SECRET_KEY"],
        secure=secure, region=env.get("S3_REGION") or None, prefix=env.get("S3_PREFIX", "hivebox/"),
    )
