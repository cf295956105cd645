"""Change lead time: which changes count, exclusions, percentiles, PR stages, tiers (hand-computed)."""

from __future__ import annotations

import math

import pytest
from test_dora_helpers import C, D, build, run

WINDOW = ("2026-01-05", "2026-01-12")


def _events():
    return build(
        [
            D("d0", "2026-01-05T06:00:00Z", first=True),  # first deployment of the environment
            D("d1", "2026-01-06T12:00:00Z"),
            D("d2", "2026-01-07T12:00:00Z", "failure"),
            D("d3", "2026-01-08T12:00:00Z"),
            D("d4", "2026-01-09T12:00:00Z"),  # ships nothing
            D("late", "2026-01-20T12:00:00Z"),  # after the window
        ],
        [
            C("c0", "2026-01-01T02:00:00Z", "d0"),  # 100 h, first deployment: excluded by default
            C("c1", "2026-01-06T10:00:00Z", "d1"),  # 2 h
            C("c2", "2026-01-05T12:00:00Z", "d1"),  # 24 h
            C("c3", "2026-01-08T12:00:00Z", "d3"),  # 0 h: kept
            C("c4", "2026-01-08T13:00:00Z", "d3"),  # -1 h: excluded, counted
            C("c5", "2026-01-07T10:00:00Z", "d2"),  # on a failed attempt: not counted
            C("c6", "2026-01-09T00:00:00Z", None),  # not deployed
            C("c7", "2026-01-19T12:00:00Z", "late"),  # deployment outside the window
        ],
    )


def test_lead_time_values_and_exclusions():
    r = run(_events(), *WINDOW)
    lt = r.lead_time
    # kept: c1 2 h, c2 24 h, c3 0 h -> sorted [0, 2, 24]
    assert lt.n == 3
    assert lt.value == 2  # median
    assert lt.p75 == pytest.approx(13)  # rank 1.5: 2 + 0.5*22
    assert lt.p90 == pytest.approx(19.6)  # rank 1.8: 2 + 0.8*22
    assert lt.ci_low <= 2 <= lt.ci_high
    assert lt.tier == "elite" and lt.unit == "hours"
    q = r.data_quality
    assert q.negative_lead_times == 1  # c4
    assert q.first_deployment_changes_excluded == 1  # c0
    assert q.changes_on_failed_deployments == 1  # c5
    assert q.undeployed_changes == 1  # c6
    assert q.deployments_without_changes == 1  # d4
    assert sorted(r.lead_times["change_id"]) == ["c1", "c2", "c3"]
    assert any("(negative lead time), excluded from lead time: 1." in n for n in q.notes)


def test_include_first_deployment():
    r = run(_events(), *WINDOW, include_first_deployment=True)
    lt = r.lead_time
    # c0: 2026-01-01T02:00 -> 2026-01-05T06:00 = 4 days + 4 h = 100 h; sorted [0, 2, 24, 100]
    assert lt.n == 4
    assert lt.value == 13  # (2 + 24) / 2
    assert lt.p75 == pytest.approx(43)  # rank 2.25: 24 + 0.25*76
    assert lt.p90 == pytest.approx(77.2)  # rank 2.7: 24 + 0.7*76
    assert r.data_quality.first_deployment_changes_excluded == 0


def test_pr_stage_columns():
    events = build(
        [D("d1", "2026-01-05T23:00:00Z")],
        [
            C(
                "pr1",
                "2026-01-05T00:00:00Z",
                "d1",
                pr_opened_at="2026-01-05T02:00:00Z",
                first_review_at="2026-01-05T05:00:00Z",
                merged_at="2026-01-05T11:00:00Z",
            ),
            # first review before the PR opened: pickup and review unknown (negative span -> NaN)
            C(
                "pr2",
                "2026-01-05T00:00:00Z",
                "d1",
                pr_opened_at="2026-01-05T02:00:00Z",
                first_review_at="2026-01-05T01:00:00Z",
            ),
        ],
    )
    t = run(events, *WINDOW).lead_times.set_index("change_id")
    # pr1: coding 00->02 = 2, pickup 02->05 = 3, review 05->11 = 6, deploy 11->23 = 12, lead 00->23 = 23
    assert t.loc[
        "pr1", ["coding_hours", "pickup_hours", "review_hours", "deploy_hours", "lead_time_hours"]
    ].tolist() == [2, 3, 6, 12, 23]
    assert t.loc["pr2", "coding_hours"] == 2
    assert math.isnan(t.loc["pr2", "pickup_hours"])  # 02:00 -> 01:00 is negative
    assert math.isnan(t.loc["pr2", "review_hours"])  # no merge time (review 01:00 -> missing)
    assert math.isnan(t.loc["pr2", "deploy_hours"])


def test_deployment_with_no_changes_only():
    r = run(build([D("d1", "2026-01-05T10:00:00Z")]), *WINDOW)
    assert r.metrics.lead_time.n == 0 and r.metrics.lead_time.value is None and r.metrics.lead_time.tier is None
    assert r.data_quality.deployments_without_changes == 1
    assert r.metrics.deployment_frequency.deployments == 1


@pytest.mark.parametrize(
    "hours,tier",
    [(23.5, "elite"), (24, "high"), (167, "high"), (168, "medium"), (719, "medium"), (720, "low")],
)
def test_lead_time_tiers(hours, tier):
    # one change committed `hours` before its deployment (2026-01-31 00:00Z); window covers the deployment
    import pandas as pd

    finished = pd.Timestamp("2026-01-31T00:00:00Z")
    committed = (finished - pd.Timedelta(hours=hours)).isoformat()
    events = build([D("d1", finished.isoformat())], [C("c1", committed, "d1")])
    lt = run(events, "2026-01-30", "2026-02-01").lead_time
    assert lt.value == hours and lt.tier == tier


def test_large_sample_uses_order_statistic_ci():
    # 6001 changes on one deployment, lead times 0..6000 h -> median 3000; n > 5000 -> order-statistic CI
    import numpy as np
    import pandas as pd

    from hivepulse import stats

    finished = pd.Timestamp("2026-12-01T00:00:00Z")
    hours = np.arange(6001)
    changes = [C(f"c{h}", (finished - pd.Timedelta(hours=int(h))).isoformat(), "d1") for h in hours]
    lt = run(build([D("d1", finished.isoformat())], changes), "2026-11-30", "2026-12-02").lead_time
    assert lt.n == 6001 and lt.value == 3000
    assert (lt.ci_low, lt.ci_high) == stats.order_statistic_median_ci(hours)
