from pathlib import Path

import pytest

from hivepulse.bench.scenarios import load_scenarios, parse_scenarios, with_overrides
from hivepulse.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_files_parse():
    full = load_scenarios(ROOT / "profiling" / "scenarios.yaml")
    assert len(full) == 12  # 4 caches x 3 clients x 1 profile
    base = next(s for s in full if s.name == "none-naive-typical")
    assert base.concurrency == 1 and base.requests == 30 and base.latency_ms == 100
    assert {s.cache for s in full} == {"none", "memory", "valkey", "memcached"}
    quick = load_scenarios(ROOT / "profiling" / "quick.yaml")
    open_model = [s for s in quick if s.rate is not None]
    assert open_model and open_model[0].concurrency is None


def test_matrix_overrides_and_explicit():
    data = {
        "defaults": {"requests": 10, "concurrency": 2},
        "latency_profiles": {"x": {"median_ms": 5}},
        "matrix": {"cache": ["none", "valkey"], "client": ["naive"], "latency": ["x"]},
        "overrides": [{"match": {"cache": "valkey"}, "rate": 20}],
        "scenarios": [{"name": "mine", "cache": "memory", "client": "pooled", "latency": "fast"}],
    }
    out = parse_scenarios(data)
    assert [s.name for s in out] == ["none-naive-x", "valkey-naive-x", "mine"]
    assert out[1].rate == 20 and out[1].concurrency is None
    assert out[0].concurrency == 2 and out[0].rate is None
    assert out[2].latency_ms == 10  # built-in profile "fast"
    over = with_overrides(out, requests=5, rate=7.5)
    assert all(s.requests == 5 and s.rate == 7.5 and s.concurrency is None for s in over)


def test_errors_name_file_line_field(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("defaults:\n  requests: 10\nmatrix:\n  cache: [none, redis]\n")
    with pytest.raises(InputError) as err:
        load_scenarios(bad)
    msg = str(err.value)
    assert "s.yaml" in msg and "line 4" in msg and "'cache'" in msg and "redis" in msg
    bad.write_text("defaults:\n  requests: ten\nmatrix: {cache: [none]}\n")
    with pytest.raises(InputError, match="line 2.*requests.*an integer"):
        load_scenarios(bad)
    bad.write_text("defaults:\n  concurrency: 2\n  rate: 5\nmatrix: {cache: [none]}\n")
    with pytest.raises(InputError, match="not both"):
        load_scenarios(bad)
    bad.write_text("matrix: [\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_scenarios(bad)
    with pytest.raises(InputError, match="not found"):
        load_scenarios(tmp_path / "missing.yaml")
    bad.write_text("defaults: {requests: 3}\n")
    with pytest.raises(InputError, match="no scenarios"):
        load_scenarios(bad)
