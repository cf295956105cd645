"""Failed deployment recovery time and rework rate (hand-computed)."""

from __future__ import annotations

import pytest
from test_dora_helpers import D, I, build, run

WINDOW = ("2026-01-01", "2026-02-01")


def _rec(report):
    return report.recoveries.set_index("deployment_id")


def test_recovery_by_incident_resolution():
    events = build(
        [D("d1", "2026-01-05T10:00:00Z"), D("d2", "2026-01-06T10:00:00Z")],
        incidents=[I("i1", "2026-01-05T11:00:00Z", "2026-01-05T13:00:00Z", deployment_id="d1")],
    )
    r = run(events, *WINDOW)
    row = _rec(r).loc["d1"]
    # incident resolved 13:00 is earlier than the next good deployment (next day 10:00): 10:00 -> 13:00 = 3 h
    assert row["recovery_hours"] == 3 and row["recovered_by"] == "incident"
    assert r.metrics.recovery_time.value == 3 and r.metrics.recovery_time.n == 1
    assert r.metrics.recovery_time.tier == "high"  # 1 <= 3 < 24


def test_recovery_by_next_good_deployment():
    events = build([D("d1", "2026-01-05T10:00:00Z", "failure"), D("d2", "2026-01-05T12:00:00Z")])
    row = _rec(run(events, *WINDOW)).loc["d1"]
    assert row["recovery_hours"] == 2 and row["recovered_by"] == "deployment"  # 10:00 -> 12:00
    assert row["next_good_deployment_id"] == "d2"


def test_next_good_deployment_skips_failed_ones():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z", "failure"),
            D("d2", "2026-01-05T12:00:00Z"),  # success but rolled back -> failed itself
            D("d3", "2026-01-05T20:00:00Z", rollback_of="d2"),
        ]
    )
    r = run(events, *WINDOW)
    rec = _rec(r)
    assert rec.loc["d1", "recovery_hours"] == 10  # 10:00 -> d3 at 20:00
    assert rec.loc["d2", "recovery_hours"] == 8  # 12:00 -> 20:00
    assert r.metrics.recovery_time.value == 9  # median(10, 8)
    assert r.metrics.recovery_time.failed == 2


def test_open_incident_defers_to_next_deployment():
    # two incidents linked to d1 (one named, one attributed); one is still open -> no incident resolution
    events = build(
        [D("d1", "2026-01-05T10:00:00Z"), D("d2", "2026-01-05T18:00:00Z")],
        incidents=[
            I("i1", "2026-01-05T11:00:00Z", "2026-01-05T12:00:00Z", deployment_id="d1"),
            I("i2", "2026-01-05T11:30:00Z"),  # attributed to d1 (last success before 11:30), open
        ],
    )
    r = run(events, *WINDOW)
    row = _rec(r).loc["d1"]
    assert row["recovery_hours"] == 8 and row["recovered_by"] == "deployment"  # 10:00 -> 18:00


def test_latest_of_all_resolved_incidents():
    events = build(
        [D("d1", "2026-01-05T10:00:00Z")],
        incidents=[
            I("i1", "2026-01-05T11:00:00Z", "2026-01-05T12:00:00Z", deployment_id="d1"),
            I("i2", "2026-01-05T11:00:00Z", "2026-01-05T15:00:00Z", deployment_id="d1"),
        ],
    )
    assert _rec(run(events, *WINDOW)).loc["d1", "recovery_hours"] == 5  # max(12:00, 15:00) - 10:00


def test_unrecovered_is_listed_and_not_in_n():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z", "failure"),
            D("d2", "2026-01-05T12:00:00Z"),
            D("d3", "2026-01-20T10:00:00Z", "failure"),
        ]
    )
    r = run(events, *WINDOW)
    rec = r.recovery_time
    assert rec.failed == 2 and rec.n == 1 and list(rec.unrecovered) == ["d3"]
    assert rec.value == 2  # d1 only
    assert any("not recovered by the end of the data: 1." in n for n in r.data_quality.notes)


def test_recovery_may_use_data_after_the_window():
    events = build([D("d1", "2026-01-31T22:00:00Z", "failure"), D("d2", "2026-02-01T04:00:00Z")])
    r = run(events, *WINDOW)
    assert r.metrics.recovery_time.value == 6 and r.metrics.deployment_frequency.deployments == 0  # d2 is after until


def test_negative_recovery_is_excluded_and_counted():
    # the named incident was resolved before the deployment finished
    events = build(
        [D("d1", "2026-01-05T10:00:00Z")],
        incidents=[I("i1", "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z", deployment_id="d1")],
    )
    r = run(events, *WINDOW)
    assert r.metrics.recovery_time.n == 0 and r.metrics.recovery_time.value is None
    assert r.data_quality.negative_recovery_times == 1


@pytest.mark.parametrize(
    "hours,tier", [(0.5, "elite"), (1, "high"), (23, "high"), (24, "medium"), (167, "medium"), (168, "low")]
)
def test_recovery_tiers(hours, tier):
    import pandas as pd

    start = pd.Timestamp("2026-01-05T00:00:00Z")
    events = build(
        [D("d1", start.isoformat(), "failure"), D("d2", (start + pd.Timedelta(hours=hours)).isoformat())]
    )
    rec = run(events, *WINDOW).recovery_time
    assert rec.value == hours and rec.tier == tier


def test_rework_rate():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z"),
            D("d3", "2026-01-07T10:00:00Z"),
            D("hot", "2026-01-07T12:00:00Z", kind="unplanned"),
            D("hot-failed", "2026-01-07T13:00:00Z", "failure", kind="unplanned"),  # not counted
        ]
    )
    rw = run(events, *WINDOW).rework_rate
    # 1 unplanned of 4 counted (successful) deployments = 0.25
    assert rw["value"] == 0.25 and rw["unplanned"] == 1 and rw["deployments"] == rw["n"] == 4
    assert rw["tier"] is None and rw["unit"] == "fraction"
    # Wilson 1/4: z^2/n = 0.960365, denom 1.960365, centre (0.25 + 0.480183)/1.960365 = 0.372473,
    # half = 1.959964*sqrt(0.046875 + 0.060023)/1.960365 = 0.326886 -> [0.045587, 0.699358]
    assert rw["ci_low"] == pytest.approx(0.045587, abs=1e-5)
    assert rw["ci_high"] == pytest.approx(0.699358, abs=1e-5)


def test_rework_empty():
    rw = run(build(), *WINDOW).rework_rate
    assert rw["value"] is None and rw["n"] == 0
