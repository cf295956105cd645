"""Environment names are compared without letter case everywhere: the metrics engine's settings and the retro's
``environment`` parameter go through ``hivepulse.vocabulary.normalize_name`` like every source does."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivepulse.errors import InputError
from hivepulse.metrics.config import MetricsConfig
from hivepulse.metrics.dora import Window, compute
from hivepulse.model import normalize_name
from hivepulse.retro.analysis import analyze
from hivepulse.retro.params import RetroParams
from hivepulse.retro.record import record_name
from hivepulse.sources.files import read_events
from hivepulse.vocabulary import normalize_name as foundation_rule

REPO = Path(__file__).resolve().parents[1]
WINDOW = {"since": "2026-05-11", "until": "2026-05-25"}


@pytest.fixture(scope="module")
def sample():
    return read_events(REPO / "data" / "sample")


def test_one_rule():
    assert normalize_name is foundation_rule
    assert foundation_rule("  PRODUCTION ") == "production"


def test_metrics_config_normalizes_both_environment_settings():
    config = MetricsConfig(environment=" Staging", default_incident_environment="PRODUCTION")
    assert (config.environment, config.default_incident_environment) == ("staging", "production")
    for bad in ("", "   "):
        with pytest.raises(InputError, match="bad environment"):
            MetricsConfig(environment=bad)
        with pytest.raises(InputError, match="bad default incident environment"):
            MetricsConfig(default_incident_environment=bad)


def test_engine_measures_the_same_deployments_whatever_the_case(sample):
    window = Window.parse("2026-05-11", "2026-05-25")
    lower = compute(sample, window, MetricsConfig())
    upper = compute(sample, window, MetricsConfig(environment="Production"))
    assert upper.to_dict() == lower.to_dict()
    assert len(upper.deployments) == len(lower.deployments) > 0


def test_retro_parameter_is_normalized_and_names_one_record(sample, tmp_path):
    params = RetroParams(**WINDOW, environment="PRODUCTION", output_dir=str(tmp_path / "retro"))
    assert params.environment == "production"
    assert record_name("2026-05-11_2026-05-25", params.environment) == "2026-05-11_2026-05-25"
    shouted = analyze(params, events=sample)
    plain = analyze(RetroParams(**WINDOW, output_dir=str(tmp_path / "retro")), events=sample)
    assert shouted.record_files()["metrics.json"] == plain.record_files()["metrics.json"]
    with pytest.raises(InputError, match="empty environment"):
        RetroParams(environment="  ")


def test_ledger_entries_are_read_with_the_same_rule():
    from hivepulse.retro import ledger as led

    entry = {"since": "2026-05-11", "until": "2026-05-25", "due": "2026-06-08", "actions": [], "pending": [],
             "environment": "Staging"}
    ledger = led.Ledger.from_dict({"version": 1, "iterations": {"2026-05-11_2026-05-25.staging": entry}})
    assert ledger.previous("2026-05-25", "staging") is not None
    assert ledger.previous("2026-05-25") is None  # production never follows up staging's items
