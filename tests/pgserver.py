"""A real PostgreSQL server for the tests and benchmarks, started in a temporary directory and stopped after.

``postgres_url`` is a session fixture (import it into a test module). The binaries are found on ``PATH`` or in
``/usr/lib/postgresql/<version>/bin`` (Debian's ``postgresql`` package; ``.ci/run`` installs it). Without them
the tests that need the server are skipped on a developer machine and **fail** when ``CI=true``. As root the
server runs as the ``postgres`` user (initdb refuses root) in a directory that user owns.

One server per test process: the fixture may be imported into several modules; the first use starts it and
the end of the session stops it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hivepulse.net import LOOPBACK, free_port

_STATE: dict[str, object] = {}


def pg_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; ``url`` names database ``hivepulse``."""

    def __init__(self) -> None:
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found")
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hivepulse-pg-"))
        self.data = self.dir / "data"
        self.user = "hivepulse"
        self._as: dict[str, object] = {}
        if os.geteuid() == 0:  # initdb refuses root: run as postgres (Debian's package creates it), else nobody
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, cwd=self.dir,
                       **self._as)  # type: ignore[call-overload]

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses={LOOPBACK} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "60", "start")
        self.createdb("hivepulse")
        return self.url()

    def url(self, database: str = "hivepulse") -> str:
        return f"postgresql://{self.user}@{LOOPBACK}:{self.port}/{database}"

    def createdb(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _server() -> PostgresServer:
    if "server" not in _STATE:
        if pg_bin_dir() is None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are missing in CI: .ci/run installs Debian's "
                            "postgresql package", pytrace=False)
            pytest.skip("PostgreSQL binaries not installed (CI installs them)")
        server = PostgresServer()
        server.start()
        _STATE["server"] = server
        _STATE["users"] = 0
    return _STATE["server"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (started on first use, stopped at the end of the session)."""
    server = _server()
    _STATE["users"] = int(_STATE["users"]) + 1  # type: ignore[call-overload]
    try:
        yield server
    finally:
        _STATE["users"] = int(_STATE["users"]) - 1  # type: ignore[call-overload]
        if _STATE["users"] == 0:
            server.stop()
            _STATE.clear()


_COUNTER = [0]


@pytest.fixture()
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server (one per test)."""
    _COUNTER[0] += 1
    return postgres_server.createdb(f"t{os.getpid()}_{_COUNTER[0]}_{int(time.time() * 1000) % 100000}")
