"""What the harness loads: the reference HiveBox, a user's service started from a command template, or a URL.

Command templates (``--target-cmd``) are split with :func:`shlex.split` (no shell) first, then each word's
placeholders are filled, so a value with spaces or quotes (a ``{python}`` under ``/opt/my env/``) stays one
argument; ``--target-env K=V`` values are formatted with the same placeholders. Any other ``{name}`` is an
error naming it; a literal brace is written ``{{`` or ``}}``.

- ``{port}``: the loopback port the service must listen on (127.0.0.1, or 0.0.0.0);
- ``{opensensemap_url}``: the replay server's base URL (use as the openSenseMap API URL, no trailing slash);
- ``{valkey_url}`` (``valkey://127.0.0.1:P/0``), ``{valkey_host}``, ``{valkey_port}``, ``{valkey_db}``: the
  Valkey the harness started (or was given with ``VALKEY_URL``); also fine for ``REDIS_*`` settings;
- ``{memcached_url}``, ``{memcached_host}``, ``{memcached_port}``: a memcached (started only when used);
- ``{s3_url}`` (``http://127.0.0.1:P``), ``{s3_endpoint}`` (``127.0.0.1:P``), ``{s3_access_key}``,
  ``{s3_secret_key}``, ``{s3_region}``: an S3 server (moto, a MinIO stand-in; started only when used);
- ``{sensebox_ids}``: comma-separated senseBox ids served by the replay server;
- ``{python}``: the Python interpreter running the harness;
- ``{redirect_dir}``: a directory holding a ``sitecustomize.py`` that, once on the service's ``PYTHONPATH``
  (``--target-env PYTHONPATH={redirect_dir}``), rewrites URLs starting with ``https://api.opensensemap.org``
  (or ``http://``) to ``{opensensemap_url}`` inside the service's Python process, for ``requests``, ``httpx``
  and ``urllib.request`` (see :data:`REDIRECT_SITECUSTOMIZE`); for services with a hard-coded URL.

These are also set as environment variables: ``PORT``, ``OPENSENSEMAP_API_URL``, ``SENSEBOX_IDS``,
``VALKEY_URL`` and ``MEMCACHED_URL`` (when started); ``--target-env`` values are added last (they win).

Readiness: the harness polls ``GET http://127.0.0.1:{port}{ready_path}`` every 50 ms; with ``ready_status``
``any`` (default) any HTTP answer counts (a ``/readyz`` that answers 503 until the first ``/temperature``
is "up"), with ``2xx`` only a 2xx answer. A process that exits first, or no accepted answer within
``start_timeout_s``, is a :class:`ServiceError` naming the exit status (or signal) and the tail of the
service's output; the full output file is kept and named.
"""

from __future__ import annotations

import os
import shlex
import signal
import string
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hivepulse.errors import InputError, ServiceError
from hivepulse.net import free_port, wait_until
from hivepulse.redact import has_credentials, redact_text, redact_url

PLACEHOLDERS = (
    "port", "opensensemap_url", "sensebox_ids", "python",
    "valkey_url", "valkey_host", "valkey_port", "valkey_db",
    "memcached_url", "memcached_host", "memcached_port",
    "s3_url", "s3_endpoint", "s3_access_key", "s3_secret_key", "s3_region", "redirect_dir",
)
REDIRECT_FROM = ("https://api.opensensemap.org", "http://api.opensensemap.org")
REDIRECT_SITECUSTOMIZE = '''"""Written by hivepulse (``{redirect_dir}``): send openSenseMap requests to the replay server.

Rewrites URLs starting with a prefix in HIVEPULSE_REDIRECT_FROM (comma-separated) to HIVEPULSE_REDIRECT_TO,
in requests (Session.request), httpx (Client/AsyncClient URL merging) and urllib.request (Request), patched
when those modules are first imported. Nothing else is changed; other URLs pass through untouched.
"""

import importlib.abc
import importlib.util
import os
import sys

_FROM = tuple(p.rstrip("/") for p in os.environ.get("HIVEPULSE_REDIRECT_FROM", "").split(",") if p)
_TO = os.environ.get("HIVEPULSE_REDIRECT_TO", "").rstrip("/")


def _rewrite(url):
    text = str(url)
    for prefix in _FROM:
        if text == prefix or text.startswith(prefix + "/") or text.startswith(prefix + "?"):
            return _TO + text[len(prefix):]
    return url


def _patch_requests(module):
    original = module.Session.request

    def request(self, method, url, *args, **kwargs):
        return original(self, method, _rewrite(url), *args, **kwargs)

    module.Session.request = request


def _patch_httpx(module):
    base = module.BaseClient
    original = base._merge_url

    def merge_url(self, url):
        merged = original(self, url)
        rewritten = _rewrite(merged)
        return merged if rewritten is merged else type(merged)(rewritten)

    base._merge_url = merge_url


def _patch_urllib(module):
    original = module.Request.__init__

    def init(self, url, *args, **kwargs):
        original(self, _rewrite(url), *args, **kwargs)

    module.Request.__init__ = init


_PATCHES = {"requests.sessions": _patch_requests, "httpx._client": _patch_httpx,
            "urllib.request": _patch_urllib}


class _PatchingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, patch = spec.loader, _PATCHES[name]
        original_exec = loader.exec_module

        def exec_module(module):
            original_exec(module)
            patch(module)

        loader.exec_module = exec_module
        return spec


if _FROM and _TO:
    for _name in list(_PATCHES):
        if _name in sys.modules:
            _PATCHES.pop(_name)(sys.modules[_name])
    sys.meta_path.insert(0, _PatchingFinder())
'''
"""The ``sitecustomize.py`` behind ``{redirect_dir}`` (written to a temporary directory when used)."""
READY_STATUSES = ("any", "2xx")
LOG_TAIL_LINES = 8
LOG_TAIL_CHARS = 1200
SAVED_LOG_BYTES = 256 * 1024


@dataclass
class TargetSpec:
    """How to reach the service under test. Empty: the reference HiveBox (``hivepulse.hivebox``).

    ``path``: the loaded endpoint. ``ready_path`` / ``ready_status`` (``any`` or ``2xx``): the readiness
    wait of a started command (and the reachability check of a URL). ``port``: a fixed port for a service
    that ignores ``{port}``/``PORT`` (default: a free port). ``start_timeout_s``: seconds to become ready.
    """

    url: str | None = None
    cmd: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/temperature"
    ready_path: str = "/"
    ready_status: str = "any"
    port: int | None = None
    start_timeout_s: float = 30.0

    @property
    def kind(self) -> str:
        """``reference``, ``command`` or ``url``."""
        return "url" if self.url else "command" if self.cmd else "reference"

    def validate(self) -> None:
        """Raise :class:`InputError` for contradictory or malformed settings."""
        if self.url and self.cmd:
            raise InputError("give --target-url or --target-cmd, not both", column="--target-url")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise InputError("invalid --target-url", value=redact_url(self.url), expected="an http(s) URL")
        if self.url and has_credentials(self.url):
            raise InputError("credentials in --target-url", value=redact_url(self.url),
                             expected="a URL without user:password@ (secrets come from the environment only)")
        if self.cwd and not Path(self.cwd).is_dir():
            raise InputError("--target-cwd is not a directory", value=self.cwd)
        if (self.cwd or self.env) and not self.cmd:
            raise InputError("--target-cwd and --target-env need --target-cmd", column="--target-cmd")
        for name, value in (("path", self.path), ("ready path", self.ready_path)):
            if not value.startswith("/"):
                raise InputError(f"invalid target {name}", value=value, expected="a path starting with /")
        if self.ready_status not in READY_STATUSES:
            raise InputError("invalid ready status", value=self.ready_status, expected="any or 2xx")
        if self.port is not None and not 0 < self.port < 65536:
            raise InputError("invalid target port", value=self.port, expected="1..65535")
        if not 0 < self.start_timeout_s <= 86400:
            raise InputError("invalid start timeout", value=self.start_timeout_s, expected="seconds > 0 (at most 86400)")
        self.used_placeholders()
        if self.cmd is not None and not self.words():
            raise InputError("empty --target-cmd", value=self.cmd, expected="a command line")

    def words(self) -> list[str]:
        """The command template split like a shell would (no shell is run), placeholders still unfilled."""
        try:
            return shlex.split(self.cmd or "")
        except ValueError as exc:
            raise InputError(f"invalid --target-cmd ({exc})", value=redact_text(self.cmd or ""),
                             expected="a command line with balanced quotes") from None

    def used_placeholders(self) -> set[str]:
        """Placeholders used by the command template and the ``--target-env`` values (validated)."""
        names: set[str] = set()
        for word in self.words():
            names |= placeholders(word)
        for key, value in self.env.items():
            names |= placeholders(value, where=f"--target-env {key}")
        return names


def target_record(spec: TargetSpec) -> dict[str, object]:
    """The ``target`` block of a run's records: kind, URL / command / cwd (URL credentials redacted), the names of
    ``--target-env`` (never the values), the loaded path and the readiness settings."""
    return {"kind": spec.kind, "url": redact_url(spec.url), "cmd": redact_url(spec.cmd), "cwd": redact_url(spec.cwd),
            "env_keys": sorted(spec.env), "path": spec.path, "ready_path": spec.ready_path,
            "ready_status": spec.ready_status, "port": spec.port}


def parse_env_pairs(pairs: list[str] | None) -> dict[str, str]:
    """``["K=V", ...]`` -> dict; :class:`InputError` naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise InputError("invalid --target-env", value=pair, expected="NAME=value")
        out[key] = value
    return out


def target_spec(*, target_url: str | None = None, target_cmd: str | None = None, target_cwd: str | None = None,
                target_env: list[str] | None = None, target_path: str | None = None,
                target_ready: str | None = None, target_ready_status: str | None = None,
                target_port: int | None = None, target_start_timeout: float | None = None) -> TargetSpec:
    """The validated :class:`TargetSpec` of the target options (``--target-*`` flags; ``None``: the default)."""
    defaults = TargetSpec()
    spec = TargetSpec(url=target_url or None, cmd=target_cmd or None, cwd=target_cwd or None,
                      env=parse_env_pairs(target_env), path=target_path or defaults.path,
                      ready_path=target_ready or defaults.ready_path,
                      ready_status=target_ready_status or defaults.ready_status, port=target_port,
                      start_timeout_s=defaults.start_timeout_s if target_start_timeout is None
                      else target_start_timeout)
    spec.validate()
    return spec


def placeholders(template: str, where: str = "--target-cmd") -> set[str]:
    """The ``{names}`` used in ``template``; :class:`InputError` for unknown or malformed ones."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(f"invalid {where} template ({exc}; write a literal brace as {{{{ or }}}})",
                         value=template) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise InputError(f"unknown placeholder in {where}", value="{" + redact_text(name) + "}",
                             expected=", ".join("{" + p + "}" for p in PLACEHOLDERS))
        names.add(name)
    return names


def expand(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every placeholder replaced (missing values become empty strings)."""
    fill = {name: "" for name in PLACEHOLDERS}
    fill.update(values)
    try:
        return template.format(**fill)
    except (ValueError, KeyError, IndexError) as exc:  # checked by placeholders() first; belt and braces
        raise InputError(f"invalid template ({type(exc).__name__})", value=redact_text(template)) from None


@dataclass
class RunningTarget:
    """A started (or given) service: base URL, pid when known, and the output file of a started command."""

    url: str
    pid: int | None
    kind: str
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def exit_description(self) -> str | None:
        """``None`` while running (or not ours); else "exited with status N" / "was killed by signal S"."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return describe_exit(self.proc.returncode)

    def output_tail(self) -> str:
        """The last lines of the service's output (stdout and stderr), one line, for error messages."""
        return log_tail(self.log)


def describe_exit(code: int) -> str:
    """``exited with status 3`` or ``was killed by signal 9 (SIGKILL)``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"was killed by signal {-code} ({name})"
    return f"exited with status {code}"


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES, chars: int = LOG_TAIL_CHARS) -> str:
    """The last ``lines`` non-empty lines of ``path`` joined with `` | `` (at most ``chars`` characters)."""
    if path is None:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    picked = [line.strip() for line in text.splitlines()
              if line.strip() and line.strip().strip("^~ ")][-lines:]  # no traceback caret lines
    tail = " | ".join(picked)
    return tail if len(tail) <= chars else "..." + tail[-chars:]


def _accepted(status: int, ready_status: str) -> bool:
    return ready_status == "any" or 200 <= status < 300


def wait_ready(url: str, spec: TargetSpec, proc: subprocess.Popen[bytes] | None = None,
               log: Path | None = None, what: str = "--target-cmd") -> None:
    """Poll ``GET url + spec.ready_path`` until an accepted answer; :class:`ServiceError` explaining why not.

    The message names the URL, the last outcome (an HTTP status or the connection error), the exit status
    of ``proc`` if it ended, and the tail of ``log`` with the path of the kept output file.
    """
    probe = url + spec.ready_path

    def fail(reason: str) -> ServiceError:
        tail = log_tail(log)
        where = f"; full output: {log}" if log is not None else ""
        return ServiceError(f"{what} {reason}; last output: {tail or 'none'}{where}")

    last = "no answer yet"
    exited = False

    def answered(client: httpx.Client) -> bool | None:
        nonlocal last, exited
        if proc is not None and proc.poll() is not None:
            exited = True
            return True
        try:
            status = client.get(probe).status_code
        except httpx.HTTPError as exc:
            last = type(exc).__name__
            return None
        if _accepted(status, spec.ready_status):
            return True
        last = f"HTTP {status}"
        return None

    with httpx.Client(timeout=2.0) as client:
        try:
            wait_until(lambda: answered(client), timeout_s=spec.start_timeout_s, interval_s=0.05,
                       what=f"{what} readiness")
        except ServiceError:
            hint = ("" if last.startswith("HTTP") else
                    f"; does it listen on 127.0.0.1:{url.rsplit(':', 1)[-1]} ({{port}} or $PORT)?")
            accepted = "HTTP" if spec.ready_status == "any" else "2xx"
            raise fail(f"gave no {accepted} answer on GET {probe} within {spec.start_timeout_s:g} s "
                       f"(last attempt: {last}){hint}") from None
    if exited:
        assert proc is not None
        raise fail(f"{describe_exit(proc.returncode)} before answering GET {probe} (last attempt: {last})")


def command_env(spec: TargetSpec, values: Mapping[str, str]) -> dict[str, str]:
    """The environment of a started command: ours, the harness variables, then ``--target-env`` (expanded)."""
    env = {**os.environ, "PORT": values["port"], "OPENSENSEMAP_API_URL": values.get("opensensemap_url", ""),
           "SENSEBOX_IDS": values.get("sensebox_ids", ""), "PYTHONUNBUFFERED": "1"}
    for key in ("valkey_url", "memcached_url"):
        if values.get(key):
            env[key.upper()] = values[key]
    if values.get("redirect_dir"):
        env["HIVEPULSE_REDIRECT_FROM"] = ",".join(REDIRECT_FROM)
        env["HIVEPULSE_REDIRECT_TO"] = values.get("opensensemap_url", "")
    env.update({key: expand(value, values) for key, value in spec.env.items()})
    return env


@contextmanager
def start_command_target(
    spec: TargetSpec, values: Mapping[str, str], save_log: Path | None = None
) -> Iterator[RunningTarget]:
    """Format ``spec.cmd`` with ``values`` (+ ``port``, ``python``), start it, wait until it is ready.

    Output (stdout and stderr) goes to a temporary file: on a start failure it is kept and named in the
    error; otherwise its last :data:`SAVED_LOG_BYTES` are copied to ``save_log`` (if given) when the
    service is stopped, and the file is removed. The process is stopped with SIGTERM, then SIGKILL after 5 s.
    """
    assert spec.cmd is not None
    port = spec.port or free_port()
    fill = {**values, "port": str(port), "python": sys.executable}
    redirect = None
    if "redirect_dir" in spec.used_placeholders():
        redirect = tempfile.TemporaryDirectory(prefix="hivepulse-redirect-")
        (Path(redirect.name) / "sitecustomize.py").write_text(REDIRECT_SITECUSTOMIZE, encoding="utf-8")
        fill["redirect_dir"] = redirect.name
    args = [expand(word, fill) for word in spec.words()]
    if not args:
        raise InputError("empty --target-cmd", value=spec.cmd)
    env = command_env(spec, fill)
    fd, name = tempfile.mkstemp(prefix="hivepulse-target-", suffix=".log")
    log = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            proc = subprocess.Popen(args, cwd=spec.cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        log.unlink(missing_ok=True)
        if redirect is not None:
            redirect.cleanup()
        raise ServiceError(f"cannot start --target-cmd {args[0]!r}: {exc.strerror}") from None
    url = f"http://127.0.0.1:{port}"
    keep_log = False
    try:
        try:
            wait_ready(url, spec, proc, log)
        except ServiceError:
            keep_log = True
            raise
        yield RunningTarget(url, proc.pid, "command", log, proc)
    finally:
        _stop(proc)
        if save_log is not None and not keep_log:
            _save_tail(log, save_log)
        if not keep_log:
            log.unlink(missing_ok=True)
        if redirect is not None:
            redirect.cleanup()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the service's process group (it may have started workers), SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait()


def _save_tail(log: Path, dest: Path) -> None:
    try:
        size = log.stat().st_size
        with open(log, "rb") as handle:
            handle.seek(max(0, size - SAVED_LOG_BYTES))
            data = handle.read()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    except OSError:
        pass


def check_url_target(spec: TargetSpec) -> str:
    """The normalised base URL of a ``--target-url`` after one reachability check (any HTTP answer)."""
    assert spec.url is not None
    url = spec.url.rstrip("/")
    probe = url + spec.ready_path
    try:
        with httpx.Client(timeout=10.0) as client:
            status = client.get(probe).status_code
    except httpx.HTTPError as exc:
        raise ServiceError(redact_text(f"--target-url gave no HTTP answer on GET {probe} "
                                       f"({type(exc).__name__}: {exc})")) from None
    if not _accepted(status, spec.ready_status):
        raise ServiceError(redact_text(f"--target-url answered HTTP {status} on GET {probe}; expected a 2xx answer"))
    return url
