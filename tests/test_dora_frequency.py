"""Deployment frequency: counts, deployment days, weeks, time zones, tiers (hand-computed)."""

from __future__ import annotations

import pytest
from test_dora_helpers import D, build, run


def test_basic_frequency():
    # Window [Mon 2026-01-05, Mon 2026-01-19): 14 days, 2 whole weeks.
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),  # week 1, Mon
            D("d2", "2026-01-05T15:00:00Z"),  # week 1, Mon (same day)
            D("d3", "2026-01-07T09:00:00Z"),  # week 1, Wed
            D("f1", "2026-01-08T09:00:00Z", "failure"),  # failed attempt: not counted in DF
            D("s1", "2026-01-09T09:00:00Z", env="staging"),  # other environment
            D("d4", "2026-01-13T12:00:00Z"),  # week 2, Tue
        ]
    )
    df = run(events, "2026-01-05", "2026-01-19").deployment_frequency
    assert df.deployments == df.n == 4
    assert df.deployment_days == 3  # Jan 5, 7, 13
    assert df.value == pytest.approx(2.0)  # 4 / 14 days * 7 = 2 per week
    assert df.per_day == pytest.approx(4 / 14)
    assert df.weeks == 2
    assert df.median_deployment_days_per_week == 1.5  # median(2 days, 1 day)
    # Garwood(4) = [1.08987, 10.24159], scaled by 7/14
    assert df.ci_low == pytest.approx(1.08987 / 2, abs=1e-4)
    assert df.ci_high == pytest.approx(10.24159 / 2, abs=1e-4)
    assert df.tier == "high"  # 4 per 14 days: 4*7 = 28 >= 14 (high), 4*1 = 4 < 14 (not elite)
    assert df.unit == "deployments/week"


def test_berlin_day_boundary():
    # 23:30 UTC on Jan 5 is 00:30 on Jan 6 in Berlin (UTC+1 in winter).
    events = build([D("d1", "2026-01-05T23:30:00Z"), D("d2", "2026-01-06T00:30:00Z")])
    assert (
        run(events, "2026-01-05", "2026-01-12").deployment_frequency["deployment_days"] == 2
    )  # UTC: 5th, 6th
    berlin = run(events, "2026-01-05", "2026-01-12", tz="Europe/Berlin").deployment_frequency
    assert berlin["deployment_days"] == 1  # both on Jan 6 local
    assert berlin["deployments"] == 2  # the window itself stays UTC


def test_tokyo_week_boundary():
    # Window [Mon 2026-01-05 00:00Z, Mon 2026-01-12 00:00Z).
    # d2 at Sun 2026-01-11 23:00Z is Mon 2026-01-12 08:00 in Tokyo (UTC+9): a new local week.
    events = build([D("d1", "2026-01-05T12:00:00Z"), D("d2", "2026-01-11T23:00:00Z")])
    utc = run(events, "2026-01-05", "2026-01-12").deployment_frequency
    assert utc["weeks"] == 1 and utc["median_deployment_days_per_week"] == 2  # both in week of Jan 5
    tokyo = run(events, "2026-01-05", "2026-01-12", tz="Asia/Tokyo").deployment_frequency
    # local window [Mon 01-05 09:00, Mon 01-12 09:00) intersects the weeks of Jan 5 and Jan 12
    assert tokyo["weeks"] == 2
    assert tokyo["median_deployment_days_per_week"] == 1  # median(1, 1)
    assert tokyo["deployment_days"] == 2


def test_empty_weeks_count_as_zero():
    # 3 weeks; deployments only in week 1 on 2 days -> weekly days [2, 0, 0] -> median 0
    events = build([D("d1", "2026-01-05T10:00:00Z"), D("d2", "2026-01-06T10:00:00Z")])
    r = run(events, "2026-01-05", "2026-01-26")
    assert r.metrics.deployment_frequency.median_deployment_days_per_week == 0
    assert list(r.weekly["deployment_days"]) == [2, 0, 0]


def test_partial_edge_weeks_are_included_and_noted():
    # [Wed 2026-01-07, Wed 2026-01-14): intersects the weeks of Jan 5 and Jan 12
    events = build([D("d1", "2026-01-08T10:00:00Z")])
    r = run(events, "2026-01-07", "2026-01-14")
    assert r.metrics.deployment_frequency.weeks == 2
    assert r.metrics.deployment_frequency.median_deployment_days_per_week == 0.5  # median(1, 0)
    assert any("partial edge weeks" in note for note in r.data_quality.notes)


def test_empty_window():
    events = build([D("old", "2025-12-01T10:00:00Z")])
    df = run(events, "2026-01-05", "2026-01-12").deployment_frequency
    assert df.deployments == 0 and df.value == 0.0 and df.n == 0
    assert df.ci_low == 0.0 and df.ci_high == pytest.approx(3.68888, abs=1e-4)  # Garwood(0) * 7/7
    assert df.tier == "low"
    assert df.median_deployment_days_per_week == 0


def test_no_events_at_all():
    r = run(build(), "2026-01-05", "2026-01-12")
    d = r.to_dict()
    assert d["deployment_frequency"]["value"] == 0.0
    for name in ("lead_time", "change_fail_rate", "recovery_time", "rework_rate"):
        assert d[name]["value"] is None and d[name]["n"] == 0 and d[name]["tier"] is None


@pytest.mark.parametrize(
    "count,days,tier",
    [
        (7, 7, "elite"),  # 7*1 >= 7
        (6, 7, "high"),  # 6*1 < 7 but 6*7 >= 7
        (1, 7, "high"),  # 1*7 >= 7
        (1, 30, "medium"),  # 1*7 = 7 < 30, 1*30 >= 30
        (1, 31, "low"),  # 1*30 = 30 < 31
    ],
)
def test_frequency_tiers(count, days, tier):
    deps = [D(f"d{i}", f"2026-01-01T{i:02d}:00:00Z") for i in range(count)]
    end = f"2026-{1 + days // 31:02d}-{1 + days % 31:02d}"
    r = run(build(deps), "2026-01-01", end)
    assert r.window.days == days
    assert r.metrics.deployment_frequency.tier == tier
