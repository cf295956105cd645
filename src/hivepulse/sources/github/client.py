"""A small GitHub REST client: Link pagination, conditional requests, rate-limit waits, retries with jitter.

- **Pagination**: ``per_page=100``; the ``Link: <...>; rel="next"`` URL is followed verbatim (it may name
  ``/repositories/{id}/...``), but only on the API's own scheme, host and port (a Link or redirect to another
  host is refused: the token must not leave).
- **Conditional requests**: a request marked ``conditional`` sends the stored ``ETag`` as ``If-None-Match``
  (and ``Last-Modified`` as ``If-Modified-Since``); a ``304 Not Modified`` costs no quota. New validators are
  collected in :attr:`GitHubClient.etags_out` for the store, which saves them with the pull's data.
- **Rate limits**: a 403/429 with ``Retry-After`` waits that many seconds; with ``X-RateLimit-Remaining: 0``
  until ``X-RateLimit-Reset``; a secondary limit without either waits 60 s, doubling. A response leaving
  ``remaining`` at 0 makes the next request wait for the reset. A wait longer than ``max_wait_s`` fails at
  once with :class:`RateLimited` naming the time to retry.
- **Retries**: 500/502/503/504, timeouts and dropped connections (also mid-body) are retried up to
  ``retries`` times after ``min(cap, base * 2**n)`` seconds with equal jitter (half fixed, half random).
- **Writes** (:meth:`GitHubClient.send_json`, used by :mod:`.issues`): ``POST``/``PATCH`` with a JSON body go
  through the same waits and retries, except that a request which must not be repeated blindly (``replay=False``:
  creating an issue) raises :class:`Unconfirmed` on an answer that leaves its outcome unknown (a 5xx, a timeout
  or a connection lost after sending) instead of sending it again; the caller checks first. A rate-limit answer
  means it was not processed, so it is waited out and sent again either way.

The token is sent only in the ``Authorization`` header and never appears in a message or log line.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from hivepulse import __version__
from hivepulse.errors import InputError, SourceError
from hivepulse.redact import redact_text
from hivepulse.textsafe import short, terminal

log = logging.getLogger("hivepulse.github")
_JITTER = random.SystemRandom()
"""Retry jitter (full-jitter backoff); SystemRandom so no seeded generator is shared with anything else."""

PER_PAGE = 100
RETRY_STATUSES = frozenset({500, 502, 503, 504})
SECONDARY_WAIT_S = 60.0


@dataclass(frozen=True)
class ClientOptions:
    """Connection and patience settings (CLI: ``--api-url``, ``--timeout``, ``--retries``, ``--max-wait``)."""

    api_url: str = "https://api.github.com"
    token: str | None = None
    timeout_s: float = 30.0
    retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_wait_s: float = 900.0
    max_body_bytes: int = 64 << 20
    service: str = "GitHub"
    """Name used in messages (the client also reads the Argo CD API)."""
    verify_tls: bool = True
    token_hint: str = "GITHUB_TOKEN or GH_TOKEN"


@dataclass
class CallStats:
    """What a pull cost: requests sent (``calls``, retries included), 304 answers, retries, rate-limit waits,
    and the last quota seen (``X-RateLimit-Remaining``/``-Limit``/``-Reset`` of the core resource)."""

    calls: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_s: float = 0.0
    quota_remaining: int | None = None
    quota_limit: int | None = None
    quota_reset: int | None = None


class RateLimited(SourceError):
    """The rate limit needs a longer wait than allowed."""


class NotFound(SourceError):
    """404 (or 422 for an unknown commit in a comparison)."""


class Unconfirmed(SourceError):
    """A write that must not be repeated blindly got no clear answer (5xx, timeout, connection lost after
    sending): it may or may not have been applied."""


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request reached the server: any request may be sent again."""


@dataclass(frozen=True)
class Page:
    """One answer: ``status`` 200 or 304, the JSON ``data`` (None for 304), the ``next`` Link URL."""

    url: str
    status: int
    data: Any
    next_url: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class GitHubClient:
    """Use as a context manager. ``etags_in`` maps request URLs to stored ``(etag, last_modified)``."""

    options: ClientOptions
    etags_in: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    stats: CallStats = field(default_factory=CallStats)
    etags_out: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    _http: httpx.Client | None = None

    def __post_init__(self) -> None:
        base = self.options.api_url.rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError("invalid --api-url", value=redact_text(base), expected="an http(s) URL")
        self._base = base
        self._origin = (parts.scheme, parts.netloc.lower())
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": f"hivepulse/{__version__}"}
        if self.options.token:
            headers["Authorization"] = f"Bearer {self.options.token}"
        timeout = httpx.Timeout(self.options.timeout_s, connect=min(10.0, self.options.timeout_s))
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False, trust_env=False,
                                  verify=self.options.verify_tls)
        self.name = self.options.service
        self._wait_until: float | None = None
        self._method = "GET"
        """The method of the request being sent (named in messages and log lines)."""

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # ------------------------------------------------------------------------------------------ URLs

    def url(self, path: str, params: Mapping[str, object] | None = None) -> str:
        """The absolute URL of an API ``path`` with ``params`` (sorted, so stored ETags match)."""
        url = path if path.startswith(("http://", "https://")) else self._base + "/" + path.lstrip("/")
        if params:
            query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
            url += ("&" if "?" in url else "?") + query
        return url

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def _where(self, url: str) -> str:
        """``GET /repos/o/r/issues?...`` for messages: the method being sent and the path (never the host)."""
        return f"{self._method} {self._short_path(url)}"

    def _short_path(self, url: str) -> str:
        parts = urlsplit(url)
        return terminal(parts.path + (f"?{parts.query}" if parts.query else ""))

    # ------------------------------------------------------------------------------------------ requests

    def get(self, path: str, params: Mapping[str, object] | None = None, *, conditional: bool = False) -> Page:
        """GET one URL (retries, waits, redirects on the same host). 404 raises :class:`NotFound`."""
        url = self.url(path, params)
        validators = _Validators(*self.etags_in.get(url, (None, None))) if conditional else _Validators()
        response, body = self._send(url, validators)
        if response.status_code == 304:
            self.stats.not_modified += 1
            if conditional:
                self.etags_out[url] = (validators.etag, validators.last_modified)
            return Page(url, 304, None)
        data = self._json(url, body)
        if conditional:
            self.etags_out[url] = (response.headers.get("etag"), response.headers.get("last-modified"))
        return Page(url, 200, data, self._next_link(url, response.headers.get("link")))

    def paginate(self, path: str, params: Mapping[str, object] | None = None, *,
                 conditional: bool = False) -> Iterator[Page]:
        """The pages of a list (``per_page=100``), following ``rel="next"``. Only the first page is
        conditional; when it answers 304 it is the only page yielded."""
        merged = {"per_page": PER_PAGE, **(params or {})}
        page = self.get(path, merged, conditional=conditional)
        yield page
        while page.next_url:
            page = self.get(page.next_url)
            yield page

    def send_json(self, method: str, path: str, payload: Mapping[str, object] | None = None, *,
                  replay: bool = True, accept: Collection[int] = ()) -> tuple[int, Any]:
        """``method`` (``POST``, ``PATCH``; or ``GET`` without payload) ``path`` with ``payload`` as JSON:
        ``(status, data)`` for a 200 or 201 answer, or for a status in ``accept`` (the caller reads those,
        e.g. a 422; ``data`` is None when such a body is not JSON; a 403 or 429 that is a rate limit is still
        waited out first). ``replay=False``: an answer leaving the outcome unknown raises :class:`Unconfirmed`
        instead of a retry (module docstring); other errors as :meth:`get`."""
        url = self.url(path)
        content = None if payload is None else json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()
        self._method = method.upper()
        try:
            response, body = self._send(url, _Validators(), content=content, replay=replay, accept=accept)
            status = response.status_code
            if status in accept and status not in (200, 201):
                try:
                    return status, json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    return status, None
            return status, self._json(url, body) if body.strip() else None
        finally:
            self._method = "GET"

    def _next_link(self, url: str, header: str | None) -> str | None:
        if not header:
            return None
        for part in header.split(","):
            section = part.split(";")
            if len(section) < 2:
                continue
            target = section[0].strip().strip("<>").strip()
            rels = [s.strip() for s in section[1:]]
            if any(r.replace(" ", "") in ('rel="next"', "rel=next") for r in rels):
                absolute = urljoin(url, target)
                if not self._same_origin(absolute):
                    raise SourceError(f"{self.name} answered {self._where(url)} with a Link to another host "
                                      f"({short(urlsplit(absolute).netloc, 60)}); refusing to follow it")
                return absolute
        return None

    def _json(self, url: str, body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise SourceError(f"{self.name} answered {self._where(url)} with a body that is not JSON "
                              f"({len(body):,} bytes)") from None

    def _send(self, url: str, validators: _Validators, *, content: bytes | None = None, replay: bool = True,
              accept: Collection[int] = ()) -> tuple[httpx.Response, bytes]:
        assert self._http is not None
        headers: dict[str, str] = {}
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        ok = (200, 304) if self._method == "GET" else (200, 201)
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        attempt = 0
        limited = 0
        redirects = 0
        while True:
            self._respect_exhausted_quota(url)
            self.stats.calls += 1
            try:
                response, body = self._request(url, headers, content)
            except httpx.TransportError as err:
                if not replay and not isinstance(err, _NOT_SENT):
                    raise self._unconfirmed(url, type(err).__name__) from None
                attempt = self._retry_or_raise(url, attempt, f"{type(err).__name__}")
                continue
            self._note_quota(response)
            status = response.status_code
            log.debug("%s %s -> %d (remaining %s)", self._method, self._short_path(url), status,
                      response.headers.get("x-ratelimit-remaining", "?"))
            if status in ok:
                return response, body
            if status in ((301, 302, 307, 308) if self._method == "GET" else (307, 308)) and redirects < 5:
                target = urljoin(url, response.headers.get("location", ""))
                if not self._same_origin(target):
                    raise SourceError(f"{self.name} redirected {self._where(url)} to another host; "
                                      "refusing to follow it (check --api-url)")
                url, redirects = target, redirects + 1
                continue
            if status in (403, 429) and self._is_rate_limit(response, body):
                limited += 1
                self._wait_rate_limit(url, response, limited)
                continue
            if status in accept:
                return response, body
            if status in RETRY_STATUSES:
                if not replay:
                    raise self._unconfirmed(url, f"HTTP {status}")
                attempt = self._retry_or_raise(url, attempt, f"HTTP {status}", response)
                continue
            raise self._error(url, status, body)

    def _request(self, url: str, headers: dict[str, str], content: bytes | None = None
                 ) -> tuple[httpx.Response, bytes]:
        assert self._http is not None
        limit = self.options.max_body_bytes
        with self._http.stream(self._method, url, headers=headers, content=content) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise SourceError(f"{self.name} answered {self._where(url)} with more than {limit:,} "
                                      "bytes; refusing to read it")
                chunks.append(chunk)
            return response, b"".join(chunks)

    # ------------------------------------------------------------------------------------------ errors

    def _error(self, url: str, status: int, body: bytes) -> SourceError:
        message = ""
        try:
            data = json.loads(body.decode("utf-8"))
            if isinstance(data, dict) and isinstance(data.get("message"), str):
                message = ": " + short(terminal(data["message"]), 120)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            pass
        where = f"{self._where(url)}"
        if status == 401:
            return SourceError(f"{self.name} rejected the credentials (401{message}) for {where}; "
                               f"check {self.options.token_hint}")
        if status in (404, 422):
            return NotFound(f"{self.name} answered {where} with {status}{message} (missing, or no access with this "
                            "token)")
        return SourceError(f"{self.name} answered {where} with HTTP {status}{message}")

    def _retry_or_raise(self, url: str, attempt: int, what: str, response: httpx.Response | None = None) -> int:
        if attempt >= self.options.retries:
            raise SourceError(f"{self.name} {self._where(url)} failed after {attempt + 1} attempts ({what}); "
                              "try again later")
        self.stats.retries += 1
        delay = min(self.options.backoff_max_s, self.options.backoff_base_s * 2 ** attempt)
        delay = delay / 2 + _JITTER.uniform(0, delay / 2)
        if response is not None and (after := _retry_after(response, self.clock())) is not None:
            delay = max(delay, min(after, self.options.backoff_max_s))
        log.info("%s %s: %s, retrying in %.1f s", self._method, self._short_path(url), what, delay)
        self.sleep(delay)
        return attempt + 1

    def _unconfirmed(self, url: str, what: str) -> Unconfirmed:
        return Unconfirmed(f"{self.name} {self._where(url)} got no clear answer ({what}); "
                           "it may or may not have been applied")

    # ------------------------------------------------------------------------------------------ quota

    def _note_quota(self, response: httpx.Response) -> None:
        h = response.headers
        if h.get("x-ratelimit-resource", "core") != "core":
            return
        remaining, limit, reset = _int(h.get("x-ratelimit-remaining")), _int(h.get("x-ratelimit-limit")), \
            _int(h.get("x-ratelimit-reset"))
        if remaining is not None:
            self.stats.quota_remaining = remaining
            self.stats.quota_limit = limit
            self.stats.quota_reset = reset
            self._wait_until = float(reset) + 1 if remaining == 0 and reset is not None else None

    def _respect_exhausted_quota(self, url: str) -> None:
        if self._wait_until is None:
            return
        delay = self._wait_until - self.clock()
        self._wait_until = None
        if delay > 0:
            self._wait(url, delay, "primary rate limit (quota used up)")

    @staticmethod
    def _is_rate_limit(response: httpx.Response, body: bytes) -> bool:
        h = response.headers
        if response.status_code == 429 or "retry-after" in h or h.get("x-ratelimit-remaining") == "0":
            return True
        return b"rate limit" in body.lower()

    def _wait_rate_limit(self, url: str, response: httpx.Response, count: int) -> None:
        self._wait_until = None  # this wait covers the exhausted quota too
        now = self.clock()
        after = _retry_after(response, now)
        reset = _int(response.headers.get("x-ratelimit-reset"))
        if after is not None:
            delay, kind = after, "rate limit (Retry-After)"
        elif response.headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            delay, kind = max(0.0, reset - now) + 1, "primary rate limit"
        else:
            delay, kind = SECONDARY_WAIT_S * 2 ** (count - 1), "secondary rate limit"
        if count > 20:
            raise RateLimited(f"{self.name} kept answering {self._where(url)} with a {kind} after 20 waits; "
                              "try again later")
        self._wait(url, delay, kind)

    def _wait(self, url: str, delay: float, kind: str) -> None:
        if delay > self.options.max_wait_s:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock() + delay))
            raise RateLimited(f"{self.name} {kind}: a wait of {delay:.0f} s is longer than --max-wait "
                              f"({self.options.max_wait_s:.0f} s); retry after {when} ({self._where(url)})")
        log.warning("%s %s: waiting %.0f s before %s %s", self.name, kind, delay, self._method, self._short_path(url))
        self.stats.rate_limit_waits += 1
        self.stats.waited_s += delay
        self.sleep(delay)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(response: httpx.Response, now: float) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


__all__ = ["CallStats", "ClientOptions", "GitHubClient", "NotFound", "PER_PAGE", "Page", "RateLimited", "Unconfirmed"]
