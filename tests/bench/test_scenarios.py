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


# -- hostile scenario files: random YAML, aliases, deep nesting, random unicode ---------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KEYS = ["defaults", "latency_profiles", "matrix", "overrides", "scenarios", "match", "requests", "concurrency",
        "rate", "cold_requests", "boxes", "ttl_s", "single_flight", "seed", "max_in_flight", "cache", "client",
        "latency", "name", "median_ms", "sigma", "error_rate", "typical", "fast", "none", "valkey"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=True),
                    st.sampled_from(["none", "memory", "valkey", "naive", "pooled", "typical", "wait", "1e999",
                                     ".nan", "-.inf", "~", "0x10"]), st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                                                 max_size=5)), max_leaves=30)


def _yaml(value) -> str:
    import yaml as pyyaml

    return pyyaml.safe_dump(value, allow_unicode=True)


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(KEYS[:5]), VALUES, max_size=5))
def test_random_scenario_files_give_scenarios_or_one_input_error(tmp_path, doc):
    path = tmp_path / "fuzz.yaml"
    path.write_text(_yaml(doc), encoding="utf-8")
    try:
        out = load_scenarios(path)
    except InputError as err:
        assert "\n" not in str(err)
    else:
        assert out and all(s.requests >= 1 and (s.concurrency is None) != (s.rate is None) for s in out)


@pytest.mark.parametrize("text", [
    "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "defaults: " + "[" * 5000 + "]" * 5000 + "\n",
    "matrix: {cache: [none]}\ndefaults: {requests: 1e999}\n",
    "matrix: {cache: [none]}\nlatency_profiles: {x: {median_ms: .inf}}\n",
    "\ufeffmatrix: {cache: [none\u202e]}\n",
    "!!python/object/apply:os.system ['true']\n",
])
def test_yaml_bombs_and_tricks_are_one_input_error(tmp_path, text):
    import time

    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(InputError) as err:
        load_scenarios(path)
    assert time.perf_counter() - started < 5
    assert "\n" not in str(err.value)
