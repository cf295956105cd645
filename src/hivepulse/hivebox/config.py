"""HiveBox configuration, read once from environment variables (documented in docs/hivebox.md).

:class:`HiveboxSettings` (pydantic-settings) reads and checks the variables; :class:`HiveboxConfig`, the frozen
value it produces, is what the service runs with (and what tests and the harness build directly). Secrets
(``S3_ACCESS_KEY``, ``S3_SECRET_KEY``) are kept out of ``repr`` and :meth:`HiveboxConfig.describe`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from hivepulse import __version__
from hivepulse.endpoints import memcached_address, valkey_address
from hivepulse.errors import InputError
from hivepulse.hivebox.body import DEFAULT_MAX_BODY_BYTES, MIN_MAX_BODY_BYTES
from hivepulse.opensensemap import PUBLIC_API, is_valid_box_id
from hivepulse.redact import has_credentials, redact_text, redact_url

#: The senseBox ids the DevOps roadmap's HiveBox template recommends.
DEFAULT_BOX_IDS = ("5eba5fbad46fb8001b799786", "5c21ff8f919bf8001adf2488", "5ade1acf223bd80019a1011c")
CACHE_BACKENDS = ("none", "memory", "valkey", "memcached")
CLIENTS = ("naive", "pooled", "concurrent")
SINGLE_FLIGHT_MODES = ("off", "wait", "stale")
SEMVER_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
MAX_MAX_BODY_BYTES = 1 << 30
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
    upstream_max_bytes: int = DEFAULT_MAX_BODY_BYTES
    admin_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Like the dataclass repr, with credentials inside URLs redacted (S3 keys and the admin token are never
        shown)."""
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, spec in self.__dataclass_fields__.items()
                           if spec.repr)
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
            "upstream_max_bytes": self.upstream_max_bytes, "admin_endpoints": self.admin_endpoints,
            "admin_token": "set" if self.admin_token else "unset",
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HiveboxConfig:
        """Read the configuration from ``env`` (default ``os.environ``) through :class:`HiveboxSettings`; a bad
        value raises :class:`InputError` (exit 2) naming the variable and what was expected."""
        return HiveboxSettings.from_env(env).to_config()


# --------------------------------------------------------------------------------------------------------------
# the environment, as a pydantic-settings model


def _env_error(name: str, reason: str, *, value: object = None, expected: str | None = None) -> InputError:
    """One-line error naming the environment variable (credentials inside a URL value are redacted)."""
    if isinstance(value, str):
        value = redact_url(value)
    return InputError(f"environment variable {name}: {reason}", value=value, expected=expected)


class _EnvProblem(ValueError):
    """Raised inside a validator; carries the finished one-line error."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


def _fail(name: str, reason: str, *, value: object = None, expected: str | None = None) -> _EnvProblem:
    return _EnvProblem(_env_error(name, reason, value=value, expected=expected))


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


def _text(raw: object) -> str | None:
    """An environment value as text; ``None`` when the variable is unset."""
    return None if raw is None else str(raw)


def _box_ids(raw: object) -> tuple[str, ...]:
    text = _text(raw)
    if text is None or not text.strip():
        return DEFAULT_BOX_IDS
    ids = tuple(part.strip() for part in text.split(",") if part.strip())
    for box_id in ids:
        if not is_valid_box_id(box_id):
            raise _fail("SENSEBOX_IDS", "invalid value", value=box_id,
                        expected="comma-separated 24-hex-digit senseBox ids")
    if len(set(ids)) != len(ids):
        raise _fail("SENSEBOX_IDS", "duplicate senseBox id", value=text, expected="each id once")
    return ids


def _api_url(raw: object) -> str:
    api_url = (_text(raw) or PUBLIC_API).strip().rstrip("/") or PUBLIC_API
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _fail("OPENSENSEMAP_API_URL", "invalid value", value=api_url,
                    expected="an http(s) URL such as https://api.opensensemap.org")
    return api_url


def _version(raw: object) -> str:
    version = (_text(raw) or __version__).strip()
    if not SEMVER_RE.match(version):
        raise _fail("HIVEBOX_VERSION", "invalid value", value=version, expected="a semantic version such as 0.1.0")
    return version


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> BeforeValidator:
    def parse(raw: object) -> str:
        value = (_text(raw) or default).strip().lower() or default
        if value not in allowed:
            raise _fail(name, "invalid value", value=value, expected="one of " + ", ".join(allowed))
        return value

    return BeforeValidator(parse)


def _single_flight(raw: object) -> str:
    value = (_text(raw) or "off").strip().lower()
    if value in _TRUE:
        value = "wait"
    elif value in _FALSE:
        value = "off"
    if value not in SINGLE_FLIGHT_MODES:
        raise _fail("HIVEBOX_SINGLE_FLIGHT", "invalid value", value=value, expected="off, wait (or 1/true) or stale")
    return value


def _seconds(name: str, default: float, minimum: float) -> BeforeValidator:
    def parse(raw: object) -> float:
        text = _text(raw)
        if text is None or not text.strip():
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value >= minimum or value == math.inf:
            raise _fail(name, "invalid value", value=text, expected=f"a number of seconds >= {minimum:g}")
        return value

    return BeforeValidator(parse)


def _flag(name: str) -> BeforeValidator:
    def parse(raw: object) -> bool | None:
        text = _text(raw)
        if text is None:
            return None
        value = text.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise _fail(name, "invalid value", value=text, expected="1/0, true/false")

    return BeforeValidator(parse)


def _max_bytes(raw: object) -> int:
    text = _text(raw)
    if text is None or not text.strip():
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if not MIN_MAX_BODY_BYTES <= value <= MAX_MAX_BODY_BYTES:
        raise _fail("HIVEBOX_UPSTREAM_MAX_BYTES", "invalid value", value=text,
                    expected=f"a number of bytes from {MIN_MAX_BODY_BYTES:,} to {MAX_MAX_BODY_BYTES:,}")
    return value


def _admin_token(raw: object) -> str | None:
    """``HIVEBOX_ADMIN_TOKEN``: unset or empty turns the admin endpoints off; else at least 16 printable ASCII
    characters (the value is never shown)."""
    text = _text(raw)
    if not text:
        return None
    if len(text) < 16 or not all(33 <= ord(c) <= 126 for c in text):
        raise _fail("HIVEBOX_ADMIN_TOKEN", "invalid value (not shown)",
                    expected="at least 16 printable ASCII characters without spaces, e.g. from "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return text


def _optional_url(raw: object) -> str | None:
    return _text(raw) or None


def _optional_text(raw: object) -> str | None:
    text = _text(raw)
    return text if text else None


def _field(variable: str, default: object = None) -> Any:
    return Field(default, validation_alias=variable)


_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("hivebox_environment", default=None)


class _Environment(EnvSettingsSource):
    """The environment variables: ``os.environ``, or the mapping given to :meth:`HiveboxSettings.from_env`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        given = _ENV.get()
        if given is None:
            return super()._load_env_vars()
        return parse_env_vars(dict(given), self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class HiveboxSettings(BaseSettings):
    """The environment variables of docs/hivebox.md, each parsed by the rule documented there.

    Names are case-sensitive (``HIVEBOX_CACHE``, not ``hivebox_cache``); an empty value means the default where
    the table says so. A bad value raises :class:`InputError` naming the variable (never its secret part)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True, validate_default=True)

    box_ids: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_box_ids)] = _field("SENSEBOX_IDS")
    api_url: Annotated[str, BeforeValidator(_api_url)] = _field("OPENSENSEMAP_API_URL")
    version: Annotated[str, BeforeValidator(_version)] = _field("HIVEBOX_VERSION")
    cache: Annotated[str, _choice("HIVEBOX_CACHE", "none", CACHE_BACKENDS)] = _field("HIVEBOX_CACHE")
    single_flight: Annotated[str, BeforeValidator(_single_flight)] = _field("HIVEBOX_SINGLE_FLIGHT")
    valkey_url: Annotated[str | None, BeforeValidator(_optional_url)] = _field("VALKEY_URL")
    memcached_url: Annotated[str | None, BeforeValidator(_optional_url)] = _field("MEMCACHED_URL")
    cache_ttl_s: Annotated[float, _seconds("HIVEBOX_CACHE_TTL", 300.0, 0.001)] = _field("HIVEBOX_CACHE_TTL")
    client: Annotated[str, _choice("HIVEBOX_CLIENT", "pooled", CLIENTS)] = _field("HIVEBOX_CLIENT")
    upstream_timeout_s: Annotated[float, _seconds("HIVEBOX_UPSTREAM_TIMEOUT", 10.0, 0.001)] = _field(
        "HIVEBOX_UPSTREAM_TIMEOUT")
    max_reading_age_s: Annotated[float, _seconds("HIVEBOX_MAX_READING_AGE", 3600.0, 0.0)] = _field(
        "HIVEBOX_MAX_READING_AGE")
    ready_max_age_s: Annotated[float, _seconds("HIVEBOX_READY_MAX_AGE", 300.0, 0.0)] = _field(
        "HIVEBOX_READY_MAX_AGE")
    cache_timeout_s: Annotated[float, _seconds("HIVEBOX_CACHE_TIMEOUT", 0.5, 0.001)] = _field(
        "HIVEBOX_CACHE_TIMEOUT")
    s3_endpoint: Annotated[str | None, BeforeValidator(_optional_url)] = _field("S3_ENDPOINT")
    s3_access_key: Annotated[SecretStr | None, BeforeValidator(_optional_text)] = _field("S3_ACCESS_KEY")
    s3_secret_key: Annotated[SecretStr | None, BeforeValidator(_optional_text)] = _field("S3_SECRET_KEY")
    s3_bucket: Annotated[str | None, BeforeValidator(_optional_text)] = _field("S3_BUCKET")
    s3_secure: Annotated[bool | None, _flag("S3_SECURE")] = _field("S3_SECURE")
    s3_region: Annotated[str | None, BeforeValidator(_optional_text)] = _field("S3_REGION")
    s3_prefix: Annotated[str | None, BeforeValidator(_text)] = _field("S3_PREFIX")
    store_interval_s: Annotated[float, _seconds("HIVEBOX_STORE_INTERVAL", 300.0, 0.0)] = _field(
        "HIVEBOX_STORE_INTERVAL")
    admin_endpoints: Annotated[bool | None, _flag("HIVEBOX_ADMIN_ENDPOINTS")] = _field("HIVEBOX_ADMIN_ENDPOINTS")
    upstream_max_bytes: Annotated[int, BeforeValidator(_max_bytes)] = _field("HIVEBOX_UPSTREAM_MAX_BYTES")
    admin_token: Annotated[SecretStr | None, BeforeValidator(_admin_token)] = _field("HIVEBOX_ADMIN_TOKEN")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _Environment(settings_cls))

    @model_validator(mode="before")
    @classmethod
    def _s3_needs_both_keys(cls, data: Any) -> Any:
        """With ``S3_ENDPOINT`` set, both keys are required (read from the environment only, never shown)."""
        if isinstance(data, Mapping) and str(data.get("S3_ENDPOINT") or "").strip():
            for name, value in (("S3_ACCESS_KEY", data.get("S3_ACCESS_KEY")),
                                ("S3_SECRET_KEY", data.get("S3_SECRET_KEY"))):
                if not value:
                    raise _fail(name, "S3_ENDPOINT is set but a key is missing",
                                expected="the access key and secret key of the bucket")
        return data

    @model_validator(mode="after")
    def _servers_for_the_cache(self) -> HiveboxSettings:
        if self.cache == "valkey" and not self.valkey_url:
            raise _fail("VALKEY_URL", "HIVEBOX_CACHE=valkey needs a server",
                        expected="a URL such as valkey://127.0.0.1:6379/0")
        if self.cache == "memcached" and not self.memcached_url:
            raise _fail("MEMCACHED_URL", "HIVEBOX_CACHE=memcached needs a server",
                        expected="a URL such as memcached://127.0.0.1:11211")
        try:
            if self.memcached_url:
                parse_memcached_url(self.memcached_url)
            if self.valkey_url:
                check_valkey_url(self.valkey_url)
        except InputError as err:
            raise _EnvProblem(err) from None
        self.s3()
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HiveboxSettings:
        """The settings of ``env`` (default ``os.environ``); :class:`InputError` (exit 2) for a bad value."""
        token = _ENV.set(env)
        try:
            return cls()
        except ValidationError as exc:
            raise _first_problem(exc) from None
        except _EnvProblem as exc:
            raise exc.error from None
        finally:
            _ENV.reset(token)

    def s3(self) -> S3Settings | None:
        """Where ``/store`` writes, or ``None`` when ``S3_ENDPOINT`` is unset."""
        endpoint = (self.s3_endpoint or "").strip()
        if not endpoint:
            return None
        secure = self.s3_secure if self.s3_secure is not None else endpoint.startswith("https://")
        if has_credentials(endpoint) or "@" in endpoint:
            raise _fail("S3_ENDPOINT", "credentials in the endpoint", value=endpoint,
                        expected="host:port or an http(s) URL without user:password@ (keys go in S3_ACCESS_KEY "
                                 "and S3_SECRET_KEY)")
        if "://" in endpoint:
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise _fail("S3_ENDPOINT", "invalid value", value=endpoint, expected="host:port or an http(s) URL")
            endpoint = parsed.netloc
        if not _HOST_PORT.match(endpoint):
            raise _fail("S3_ENDPOINT", "invalid value", value=endpoint, expected="host:port or an http(s) URL")
        bucket = (self.s3_bucket or "hivebox").strip()
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket):
            raise _fail("S3_BUCKET", "invalid value", value=bucket,
                        expected="an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
        assert self.s3_access_key is not None and self.s3_secret_key is not None
        return S3Settings(endpoint=endpoint, bucket=bucket, access_key=self.s3_access_key.get_secret_value(),
                          secret_key=self.s3_secret_key.get_secret_value(), secure=secure, region=self.s3_region,
                          prefix="hivebox/" if self.s3_prefix is None else self.s3_prefix)

    def to_config(self) -> HiveboxConfig:
        """The frozen value the service runs with."""
        return HiveboxConfig(
            box_ids=self.box_ids, api_url=self.api_url, version=self.version, cache=self.cache,
            cache_ttl_s=self.cache_ttl_s, single_flight=self.single_flight, client=self.client,
            upstream_timeout_s=self.upstream_timeout_s, max_reading_age_s=self.max_reading_age_s,
            ready_max_age_s=self.ready_max_age_s, valkey_url=self.valkey_url, memcached_url=self.memcached_url,
            cache_timeout_s=self.cache_timeout_s, s3=self.s3(), store_interval_s=self.store_interval_s,
            admin_endpoints=True if self.admin_endpoints is None else self.admin_endpoints,
            upstream_max_bytes=self.upstream_max_bytes,
            admin_token=self.admin_token.get_secret_value() if self.admin_token is not None else None,
        )


_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")


def _first_problem(exc: ValidationError) -> InputError:
    """The first validation error as the one-line :class:`InputError` naming its variable."""
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _EnvProblem):
            return cause.error
    first = exc.errors(include_url=False)[0]
    loc = first["loc"][0] if first["loc"] else "the environment"
    return InputError(f"environment variable {loc}: invalid value ({first['msg']})")
