"""Comparison of two windows: tests, significance, direction (p-values hand-computed)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_dora_helpers import C, D, build, run

from hivepulse.metrics.dora import MetricsConfig, Window, compare, compute


def _deploys(prefix, start, count, every_hours=6, status="success"):
    t0 = pd.Timestamp(start)
    return [
        D(f"{prefix}{i}", (t0 + pd.Timedelta(hours=every_hours * i)).isoformat(), status)
        for i in range(count)
    ]


def test_deployment_frequency_poisson_test():
    # previous week [Jan 5, Jan 12): 5 deployments; current week [Jan 12, Jan 19): 20 deployments
    events = build(_deploys("p", "2026-01-05T00:00:00Z", 5) + _deploys("c", "2026-01-12T00:00:00Z", 20))
    r = compute(
        events, Window.parse("2026-01-12", "2026-01-19"), MetricsConfig(n_boot=200), compare_previous=True
    )
    c = r.comparison.deployment_frequency
    # equal exposures: 20 | 25 ~ Bin(25, 1/2); p = 2 * 68406 / 2^25 = 0.0040773
    assert c.p_value == pytest.approx(2 * 68406 / 2**25)
    assert c.previous_value == 5 and c.delta == 15  # per week: 20 - 5
    assert c.significant is True and c.direction == "improved"  # higher is better
    assert c.test == "poisson-exact-conditional"
    assert r.to_dict()["comparison"]["previous_window"]["since"] == "2026-01-05T00:00:00Z"


def _lead_events(prev_hours, cur_hours):
    deps = [D("prev", "2026-01-10T00:00:00Z"), D("cur", "2026-01-17T00:00:00Z")]
    changes = [
        C(f"p{i}", (pd.Timestamp("2026-01-10T00:00:00Z") - pd.Timedelta(hours=h)).isoformat(), "prev")
        for i, h in enumerate(prev_hours)
    ]
    changes += [
        C(f"c{i}", (pd.Timestamp("2026-01-17T00:00:00Z") - pd.Timedelta(hours=h)).isoformat(), "cur")
        for i, h in enumerate(cur_hours)
    ]
    return build(deps, changes)


def test_lead_time_not_significant_with_three_each():
    events = _lead_events([4, 5, 6], [1, 2, 3])
    cur = run(events, "2026-01-12", "2026-01-19")
    prev = run(events, "2026-01-05", "2026-01-12")
    c = compare(cur, prev).lead_time
    # U = 0 of 9, exact two-sided p = 2 / C(6, 3) = 0.1 >= 0.05
    assert c.p_value == pytest.approx(0.1)
    assert c.delta == -3  # median 2 - median 5
    assert c.significant is False and c.direction == "unchanged"


def test_lead_time_improved_and_regressed():
    events = _lead_events(range(11, 19), range(1, 9))
    cur = run(events, "2026-01-12", "2026-01-19")
    prev = run(events, "2026-01-05", "2026-01-12")
    c = compare(cur, prev).lead_time
    assert c.p_value == pytest.approx(2 / 12870)  # exact: 2 / C(16, 8)
    assert c.significant and c.direction == "improved"  # lower is better
    assert compare(prev, cur).lead_time.direction == "regressed"


def test_change_fail_rate_fisher():
    # previous: 9 of 10 failed; current: 1 of 10 failed
    deps = _deploys("p", "2026-01-05T00:00:00Z", 10, status="failure")
    deps[-1]["status"] = "success"
    cur = _deploys("c", "2026-01-12T00:00:00Z", 10)
    cur[0]["status"] = "failure"
    events = build(deps + cur)
    r = compute(
        events, Window.parse("2026-01-12", "2026-01-19"), MetricsConfig(n_boot=200), compare_previous=True
    )
    c = r.comparison.change_fail_rate
    # tables as or more extreme than a = 1 with margins 10/10: (1 + 100 + 100 + 1) / C(20, 10) = 202 / 184756
    assert c.p_value == pytest.approx(202 / 184756)
    assert c.delta == pytest.approx(0.1 - 0.9)
    assert c.significant and c.direction == "improved"


def test_empty_previous_is_not_significant():
    events = build(_deploys("c", "2026-01-12T00:00:00Z", 3, status="failure"))
    r = compute(
        events, Window.parse("2026-01-12", "2026-01-19"), MetricsConfig(n_boot=200), compare_previous=True
    )
    for name in ("lead_time", "change_fail_rate", "recovery_time", "rework_rate"):
        assert r.comparison.get(name).significant is False
        assert r.comparison.get(name).direction == "unchanged"
    assert r.comparison.change_fail_rate.previous_n == 0


def test_min_effect_suppresses_tiny_significant_changes():
    events = build(_deploys("p", "2026-01-05T00:00:00Z", 5) + _deploys("c", "2026-01-12T00:00:00Z", 20))
    window = Window.parse("2026-01-12", "2026-01-19")
    r = compute(events, window, MetricsConfig(n_boot=200, min_effect=5.0), compare_previous=True)
    c = r.comparison.deployment_frequency
    assert c.significant is True and c.direction == "unchanged"  # +300 % < 500 %


def test_no_comparison_by_default():
    assert run(build(), "2026-01-12", "2026-01-19").to_dict()["comparison"] is None
