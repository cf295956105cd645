"""Change fail rate: failure reasons, incident attribution (gap, environment), rollback, unplanned fix."""

from __future__ import annotations

import pandas as pd
import pytest
from test_dora_helpers import D, I, build, run

WINDOW = ("2026-01-01", "2026-02-01")


def _reasons(report):
    return dict(zip(report.deployments["deployment_id"], report.deployments["failure_reasons"], strict=True))


def test_status_named_incident_and_denominator():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z", "failure"),  # failed attempt
            D("d3", "2026-01-07T10:00:00Z"),  # named by an incident
            D("d4", "2026-01-08T10:00:00Z"),
            D("d5", "2026-01-09T10:00:00Z"),
        ],
        incidents=[I("i1", "2026-01-20T10:00:00Z", deployment_id="d3")],
    )
    r = run(events, *WINDOW)
    cfr = r.change_fail_rate
    # denominator: all 5 deployments (success or failure); failed: d2 (status), d3 (incident) -> 2/5
    assert cfr.deployments == cfr.n == 5
    assert cfr.failed == 2 and cfr.value == pytest.approx(0.4)
    assert cfr.by_reason == {"incident": 1, "rollback": 0, "status": 1, "unplanned_fix": 0}
    assert cfr.tier == "low"  # 0.4 > 0.15
    assert cfr.unit == "fraction"
    low, high = cfr.ci_low, cfr.ci_high
    assert low < 0.4 < high
    assert _reasons(r) == {"d1": "", "d2": "status", "d3": "incident", "d4": "", "d5": ""}


def test_attribution_gap_is_inclusive():
    deps = [D("d1", "2026-01-01T00:00:00Z")]
    # opened exactly 7 days after d1 finished: 7 days <= 7 days -> attributed
    exact = run(build(deps, incidents=[I("i1", "2026-01-08T00:00:00Z")]), *WINDOW)
    assert exact.change_fail_rate["failed"] == 1
    assert exact.data_quality["unattributed_incidents"] == 0
    # one second later: 7 days 1 s > 7 days -> matches nothing, counted as unattributed
    late = run(build(deps, incidents=[I("i1", "2026-01-08T00:00:01Z")]), *WINDOW)
    assert late.change_fail_rate["failed"] == 0
    assert late.data_quality["unattributed_incidents"] == 1
    assert any("matched no deployment" in n for n in late.data_quality["notes"])
    # a larger configured gap catches it
    wide = run(
        build(deps, incidents=[I("i1", "2026-01-08T00:00:01Z")]),
        *WINDOW,
        incident_max_gap=pd.Timedelta(days=8),
    )
    assert wide.change_fail_rate["failed"] == 1


def test_attribution_is_strictly_before_and_to_last_successful():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z", "failure"),  # not a candidate: not successful
            D("d3", "2026-01-07T10:00:00Z"),  # finished exactly when i1 opened: not before it
        ],
        incidents=[I("i1", "2026-01-07T10:00:00Z")],
    )
    r = run(events, *WINDOW)
    assert _reasons(r) == {"d1": "incident", "d2": "status", "d3": ""}


def test_incident_environment():
    events = build(
        [
            D("p1", "2026-01-05T10:00:00Z"),
            D("s1", "2026-01-06T10:00:00Z", env="staging"),
        ],
        incidents=[
            I("i-staging", "2026-01-06T11:00:00Z", env="staging"),  # -> s1, not p1
            I("i-default", "2026-01-05T11:00:00Z"),  # no environment -> production -> p1
        ],
    )
    prod = run(events, *WINDOW)
    assert _reasons(prod) == {"p1": "incident"}
    staging = run(events, *WINDOW, environment="staging")
    assert _reasons(staging) == {"s1": "incident"}
    # with default_incident_environment=staging, i-default looks for a staging deployment before
    # 2026-01-05T11:00 -> none -> p1 is not failed, and the incident is unattributed in staging
    other = run(events, *WINDOW, environment="staging", default_incident_environment="staging")
    assert other.data_quality["unattributed_incidents"] == 1
    assert run(events, *WINDOW, default_incident_environment="staging").change_fail_rate["failed"] == 0


def test_incident_matching_no_deployment():
    events = build(
        [D("d1", "2026-01-20T10:00:00Z")],
        incidents=[
            I("early", "2026-01-10T10:00:00Z"),  # no deployment before it
            I("outside", "2025-12-10T10:00:00Z"),  # unattributed too, but opened before the window
        ],
    )
    r = run(events, *WINDOW)
    assert r.metrics.change_fail_rate.failed == 0 and r.metrics.change_fail_rate.value == 0.0
    assert r.metrics.change_fail_rate.tier == "elite"  # 0 <= 0.05
    assert r.data_quality.unattributed_incidents == 1  # only "early" is in the window


def test_rollback_marks_rolled_back_deployment():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z"),
            D("rb", "2026-01-06T11:00:00Z", rollback_of="d2"),
        ]
    )
    r = run(events, *WINDOW)
    assert _reasons(r) == {"d1": "", "d2": "rollback", "rb": ""}
    assert r.metrics.change_fail_rate.by_reason["rollback"] == 1


def test_unplanned_fix_marks_latest_planned_success_before_it():
    events = build(
        [
            D("p1", "2026-01-05T10:00:00Z"),
            D("p2", "2026-01-06T10:00:00Z"),  # latest planned success before the hotfix
            D("p3", "2026-01-06T12:00:00Z", "failure"),  # failed attempt: not a candidate
            D("hot", "2026-01-07T10:00:00Z", kind="unplanned"),
            D("hot-failed", "2026-01-08T10:00:00Z", "failure", kind="unplanned"),  # marks nothing
        ]
    )
    r = run(events, *WINDOW)
    assert _reasons(r) == {"p1": "", "p2": "unplanned_fix", "p3": "status", "hot": "", "hot-failed": "status"}


def test_unplanned_fix_needs_strictly_earlier_deployment():
    events = build(
        [
            D("p1", "2026-01-05T10:00:00Z"),
            D("p2", "2026-01-06T10:00:00Z"),  # same finish time as the hotfix: not before it
            D("hot", "2026-01-06T10:00:00Z", kind="unplanned"),
        ]
    )
    assert _reasons(run(events, *WINDOW))["p1"] == "unplanned_fix"


def test_several_reasons_are_sorted_and_counted_once():
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("rb", "2026-01-05T12:00:00Z", rollback_of="d1", kind="unplanned"),
        ],
        incidents=[I("i1", "2026-01-05T11:00:00Z", deployment_id="d1")],
    )
    r = run(events, *WINDOW)
    assert _reasons(r)["d1"] == "incident;rollback;unplanned_fix"
    assert r.metrics.change_fail_rate.failed == 1  # distinct deployments
    assert r.metrics.change_fail_rate.value == pytest.approx(0.5)  # 1 of 2


def test_failure_evidence_after_the_window_counts():
    # d1 is in January; the incident naming it opens in February, after `until`
    events = build(
        [D("d1", "2026-01-30T10:00:00Z")], incidents=[I("i1", "2026-02-02T10:00:00Z", deployment_id="d1")]
    )
    assert run(events, *WINDOW).change_fail_rate["failed"] == 1


@pytest.mark.parametrize("failed,tier", [(1, "elite"), (2, "high"), (3, "medium"), (4, "low")])
def test_cfr_tiers(failed, tier):
    # 20 deployments; 1/20 = 0.05 <= 0.05 elite; 2/20 = 0.10 high; 3/20 = 0.15 medium; 4/20 = 0.20 low
    deps = [
        D(f"d{i:02d}", f"2026-01-{i + 1:02d}T10:00:00Z", "failure" if i < failed else "success")
        for i in range(20)
    ]
    assert run(build(deps), *WINDOW).change_fail_rate["tier"] == tier


def test_cfr_empty_window_is_null():
    cfr = run(build([D("d1", "2025-06-01T10:00:00Z")]), *WINDOW).change_fail_rate
    assert cfr.value is None and cfr.tier is None and cfr.ci_low is None and cfr.n == 0
