"""Fixtures of the doctor tests: one replay server, Valkey and memcached per test module and worker."""

from __future__ import annotations

import pytest

from doctor.settings import FAST
from hivepulse.bench.infra import infrastructure
from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.targets import TargetSpec


@pytest.fixture(scope="module")
def shared_infra():
    """Replay server (3 boxes), Valkey and memcached for every mode of the reference HiveBox."""
    scenarios = [Scenario(name=c, cache=c, client="pooled", latency="doctor", boxes=3, seed=7,
                          latency_model={"median_ms": FAST.latency_ms, "sigma": 0.0}) for c in ("valkey", "memcached")]
    with infrastructure(scenarios, TargetSpec()) as infra:
        yield infra
