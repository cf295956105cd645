"""The shipped tier table (data/tiers.yaml)."""

from __future__ import annotations

import pytest

from hivepulse.errors import InputError
from hivepulse.metrics import tiers


def test_editions_and_sources():
    assert tiers.editions() == ["2023", "2024"]
    for name in tiers.editions():
        ed = tiers.edition(name)
        assert ed["sources"] and all(s.startswith("https://") for s in ed["sources"])
        assert set(ed["cutoffs"]) == set(tiers.TIERED_METRICS)


def test_published_2024_cfr_clusters_are_not_monotonic_but_cutoffs_are():
    ed = tiers.edition("2024")
    clusters = ed["clusters"]["change_fail_rate"]
    assert clusters["high"] > clusters["medium"]  # 20% > 10%: the 2024 "plot twist"
    cut = ed["cutoffs"]["change_fail_rate"]
    assert cut["elite"] < cut["high"] < cut["medium"]  # 5 < 10 < 15 %
    assert tiers.edition("2023")["clusters"]["change_fail_rate"]["low"] == 0.64


@pytest.mark.parametrize(
    "metric,value,tier",
    [
        ("lead_time", 23.99, "elite"),
        ("lead_time", 24, "high"),
        ("lead_time", 720, "low"),
        ("change_fail_rate", 0.05, "elite"),
        ("change_fail_rate", 0.1500001, "low"),
        ("recovery_time", 0.99, "elite"),
        ("recovery_time", 168, "low"),
        ("lead_time", None, None),
    ],
)
def test_classify(metric, value, tier):
    assert tiers.classify(metric, value) == tier


def test_classify_frequency_exact_integers():
    # 4 deployments in 28 days: 4*7 = 28 >= 28 -> high (exactly one per week, no float rounding)
    assert tiers.classify_frequency(4, 28.0) == "high"
    assert tiers.classify_frequency(0, 28.0) == "low"
    assert tiers.classify_frequency(0, 0) is None


def test_unknown_edition():
    with pytest.raises(InputError):
        tiers.edition("2021")
