"""The report object, the JSON contract and iterations."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_dora_helpers import C, D, I, build, run

from hivepulse.metrics.dora import MetricsConfig, Window, iterations, round_float

TOP_KEYS = [
    "schema",
    "window",
    "environment",
    "tier_edition",
    "deployment_frequency",
    "lead_time",
    "change_fail_rate",
    "recovery_time",
    "rework_rate",
    "data_quality",
    "comparison",
    "quick_check",
]
METRIC_KEYS = {"value", "n", "ci_low", "ci_high", "tier", "unit"}


def _events():
    return build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z", "failure"),
            D("d3", "2026-01-07T10:00:00Z", kind="unplanned"),
        ],
        [C("c1", "2026-01-05T07:00:00Z", "d1"), C("c2", "2026-01-07T09:00:00Z", "d3")],
        [I("i1", "2026-01-05T11:00:00Z", None)],
    )


def test_json_contract_shape():
    d = run(_events(), "2026-01-05", "2026-01-12").to_dict()
    assert list(d) == TOP_KEYS
    assert d["schema"] == "hivepulse.metrics/1"
    assert d["window"] == {
        "since": "2026-01-05T00:00:00Z",
        "until": "2026-01-12T00:00:00Z",
        "tz": "UTC",
        "days": 7.0,
    }
    assert d["environment"] == "production" and d["tier_edition"] == "2024"
    for name in TOP_KEYS[4:9]:
        assert METRIC_KEYS <= set(d[name]), name
    assert {"deployments", "deployment_days", "per_day", "weeks", "median_deployment_days_per_week"} <= set(
        d["deployment_frequency"]
    )
    assert {"p75", "p90"} <= set(d["lead_time"])
    assert {"failed", "deployments", "by_reason"} <= set(d["change_fail_rate"])
    assert {"failed", "unrecovered"} <= set(d["recovery_time"])
    assert {"unplanned", "deployments"} <= set(d["rework_rate"])
    text = json.dumps(d, allow_nan=False)  # no NaN anywhere
    assert json.loads(text) == d


def test_values_of_the_small_report():
    d = run(_events(), "2026-01-05", "2026-01-12").to_dict()
    # counted: d1, d3 -> 2 per 7 days = 2/week; lead times c1 3 h, c2 1 h -> median 2
    assert d["deployment_frequency"]["value"] == 2.0
    assert d["lead_time"]["value"] == 2.0
    # d1 failed (open incident attributed), d2 failed (status), d3 fixes d1 (unplanned) -> 2 of 3
    assert d["change_fail_rate"]["failed"] == 2 and d["change_fail_rate"]["value"] == pytest.approx(0.6667)
    # d1: incident open -> next good deployment: d3 (d2 failed) at Jan 7 10:00 -> 48 h; d2 -> d3: 24 h
    assert d["recovery_time"]["value"] == 36.0 and d["recovery_time"]["n"] == 2
    assert d["rework_rate"]["value"] == 0.5  # 1 unplanned of 2 counted
    assert d["data_quality"]["small_samples"] == list(TOP_KEYS[4:9])


def test_rounding_happens_only_at_output():
    assert round_float(2 / 3) == 0.6667 and round_float(123.456789) == 123.4568
    assert round_float(0.000123456) == 0.0001235
    r = run(build([D("d1", "2026-01-05T10:00:00Z")]), "2026-01-05", "2026-01-08")
    assert r.metrics.deployment_frequency.value == pytest.approx(7 / 3)  # unrounded in the object
    assert r.to_dict()["deployment_frequency"]["value"] == 2.3333


def test_tables():
    r = run(_events(), "2026-01-05", "2026-01-12")
    assert list(r.deployments["deployment_id"]) == ["d1", "d2", "d3"]
    assert {
        "counted",
        "failed",
        "failure_reasons",
        "recovered_at",
        "recovery_hours",
        "kind",
        "changes",
    } <= set(r.deployments.columns)
    assert list(r.deployments["counted"]) == [True, False, True]
    assert list(r.lead_times.columns[:5]) == [
        "change_id",
        "deployment_id",
        "committed_at",
        "finished_at",
        "lead_time_hours",
    ]
    assert len(r.recoveries) == 2


def test_iterations_are_consecutive_oldest_first():
    events = build([D(f"d{i}", f"2026-01-{i:02d}T10:00:00Z") for i in range(1, 29)])
    reports = iterations(events, until="2026-01-29", days=7, count=4, config=MetricsConfig(n_boot=100))
    assert [str(r.window.since.date()) for r in reports] == [
        "2026-01-01",
        "2026-01-08",
        "2026-01-15",
        "2026-01-22",
    ]
    assert reports[-1].window.until == pd.Timestamp("2026-01-29T00:00:00Z")
    assert [r.metrics.deployment_frequency.deployments for r in reports] == [7, 7, 7, 7]
    assert reports[0].window == Window.parse("2026-01-01", "2026-01-08")


def test_edition_2023_same_cutoffs():
    a = run(_events(), "2026-01-05", "2026-01-12", tier_edition="2023").to_dict()
    b = run(_events(), "2026-01-05", "2026-01-12").to_dict()
    assert a["tier_edition"] == "2023"
    for name in TOP_KEYS[4:9]:
        assert a[name]["tier"] == b[name]["tier"]


def test_source_notes_are_kept():
    events = _events()
    events.notes.append("Shallow clone: 12 commits may be missing.")
    r = run(events, "2026-01-05", "2026-01-12")
    assert r.data_quality.notes[0] == "Shallow clone: 12 commits may be missing."


def test_typed_results_and_their_json():
    from hivepulse.metrics.dora import ChangeFailRate, DataQuality, LeadTime, Metrics

    r = run(_events(), "2026-01-05", "2026-01-12")
    assert isinstance(r.metrics, Metrics) and isinstance(r.metrics.lead_time, LeadTime)
    assert r.lead_time is r.metrics.lead_time and r.metric("change_fail_rate") is r.metrics.change_fail_rate
    assert isinstance(r.change_fail_rate, ChangeFailRate) and isinstance(r.data_quality, DataQuality)
    assert [name for name, _ in r.metrics] == TOP_KEYS[4:9]
    cfr = r.metrics.change_fail_rate
    assert (cfr.failed, cfr.deployments, dict(cfr.by_reason)) == (2, 3, {"incident": 1, "rollback": 0,
                                                                         "status": 1, "unplanned_fix": 1})
    assert cfr.ci == (cfr.ci_low, cfr.ci_high) and cfr["failed"] == 2  # the contract's key spelling reads a field
    with pytest.raises(KeyError):
        cfr["no_such_field"]
    with pytest.raises(AttributeError):
        cfr.value = 0.0  # frozen
    assert r.metrics.tier_of("lead_time") == "elite" and r.metrics.tier_of("pickup_hours_median") is None
    d = r.to_dict()
    for name, metric in r.metrics:  # each block's keys are the dataclass fields, in contract order
        assert list(d[name]) == list(metric.to_dict())
    assert list(d["data_quality"]) == list(r.data_quality.to_dict())


def test_published_report_holds_the_contracts_numbers():
    events = build([D(f"d{i}", f"2026-01-{i:02d}T10:00:00Z", kind="unplanned" if i % 3 == 0 else "planned")
                    for i in range(1, 20)],
                   [C(f"c{i}", f"2026-01-{i:02d}T0{i % 7}:13:00Z", f"d{i}") for i in range(1, 20)])
    r = compute_with_previous(events)
    pub = r.published()
    assert pub.to_dict() == r.to_dict() and pub.published().to_dict() == r.to_dict()  # rounding is idempotent
    assert r.deployment_frequency.value == 7.0  # d12..d18 in [Jan 12, Jan 19)
    # d12, d15, d18 unplanned: 3 of 7 = 0.428571..., published with 4 significant digits
    assert r.rework_rate.value == pytest.approx(3 / 7) and pub.rework_rate.value == 0.4286
    assert pub.comparison is not None and pub.comparison.rework_rate.p_value == r.to_dict()["comparison"][
        "rework_rate"]["p_value"]
    assert pub.lead_times is r.lead_times  # tables are shared, not copied


def compute_with_previous(events):
    from hivepulse.metrics.dora import compute

    return compute(events, Window.parse("2026-01-12", "2026-01-19"), MetricsConfig(n_boot=200),
                   compare_previous=True)
