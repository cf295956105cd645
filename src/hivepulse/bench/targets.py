"""What the harness loads: the reference HiveBox, a user's service started from a command template, or a URL.

Command templates (``--target-cmd``) are split with :func:`shlex.split` (no shell) after formatting these
placeholders; any other ``{name}`` is an error naming it:

- ``{port}``: a free loopback port the service must listen on (127.0.0.1);
- ``{opensensemap_url}``: the replay server's base URL (use as the openSenseMap API URL);
- ``{valkey_url}``, ``{memcached_url}``: the cache servers the harness started (or was given);
- ``{sensebox_ids}``: comma-separated senseBox ids served by the replay server;
- ``{python}``: the Python interpreter running the harness.

The same values are also set as environment variables ``PORT``, ``OPENSENSEMAP_API_URL``, ``VALKEY_URL``,
``MEMCACHED_URL`` and ``SENSEBOX_IDS``; ``--target-env K=V`` values are added last (they win).
Between cold requests the harness empties the caches it handed out (Valkey ``FLUSHDB`` on the given
database, memcached ``flush_all``).
"""

from __future__ import annotations

import os
import shlex
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hivepulse.bench.util import free_port
from hivepulse.errors import InputError, ServiceError

PLACEHOLDERS = ("port", "opensensemap_url", "valkey_url", "memcached_url", "sensebox_ids", "python")


@dataclass
class TargetSpec:
    """How to reach the service under test. Empty: the reference HiveBox (``hivepulse.hivebox``)."""

    url: str | None = None
    cmd: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/temperature"
    ready_path: str = "/"
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
            raise InputError("invalid --target-url", value=self.url, expected="an http(s) URL")
        if self.cwd and not Path(self.cwd).is_dir():
            raise InputError("--target-cwd is not a directory", value=self.cwd)
        if (self.cwd or self.env) and not self.cmd:
            raise InputError("--target-cwd and --target-env need --target-cmd", column="--target-cmd")
        if self.cmd:
            placeholders(self.cmd)


def parse_env_pairs(pairs: list[str] | None) -> dict[str, str]:
    """``["K=V", ...]`` -> dict; :class:`InputError` naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise InputError("invalid --target-env", value=pair, expected="NAME=value")
        out[key] = value
    return out


def placeholders(template: str) -> set[str]:
    """The ``{names}`` used in ``template``; :class:`InputError` for unknown or malformed ones."""
    names = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(f"invalid --target-cmd template ({exc})", value=template) from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise InputError("unknown placeholder in --target-cmd", value="{" + name + "}",
                             expected=", ".join("{" + p + "}" for p in PLACEHOLDERS))
        names.add(name)
    return names


@dataclass
class RunningTarget:
    """A started (or given) service: base URL, pid when known, and the log file of a started command."""

    url: str
    pid: int | None
    kind: str
    log: Path | None = None


def _tail(path: Path | None, lines: int = 3) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


@contextmanager
def start_command_target(
    spec: TargetSpec, values: Mapping[str, str]
) -> Iterator[RunningTarget]:
    """Format ``spec.cmd`` with ``values`` (+ a free ``port``), start it, wait until it answers HTTP."""
    port = free_port()
    fill = {name: "" for name in PLACEHOLDERS}
    fill.update(values)
    fill.update(port=str(port), python=sys.executable)
    assert spec.cmd is not None
    args = shlex.split(spec.cmd.format(**fill))
    env = {**os.environ, "PORT": str(port), "OPENSENSEMAP_API_URL": fill["opensensemap_url"],
           "SENSEBOX_IDS": fill["sensebox_ids"], "PYTHONUNBUFFERED": "1"}
    for key in ("valkey_url", "memcached_url"):
        if fill[key]:
            env[key.upper()] = fill[key]
    env.update(spec.env)
    log = Path(tempfile.mkstemp(prefix="hivepulse-target-", suffix=".log")[1])
    try:
        with open(log, "wb") as handle:
            proc = subprocess.Popen(args, cwd=spec.cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
    except OSError as exc:
        log.unlink(missing_ok=True)
        raise ServiceError(f"cannot start --target-cmd {args[0]!r}: {exc.strerror}") from None
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + spec.start_timeout_s
        with httpx.Client(timeout=2.0) as client:
            while True:
                if proc.poll() is not None:
                    raise ServiceError(f"--target-cmd exited with status {proc.returncode} before answering "
                                       f"on {url}: {_tail(log) or 'no output'}")
                try:
                    client.get(url + spec.ready_path)
                    break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ServiceError(f"--target-cmd did not answer on {url} within "
                                       f"{spec.start_timeout_s:g} s: {_tail(log) or 'no output'}")
                time.sleep(0.05)
        yield RunningTarget(url, proc.pid, "command", log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.unlink(missing_ok=True)
