"""DORA Quick Check (2025) scores: every bucket edge, the scores and the group means, hand-computed
(docs/metrics.md, "Quick Check"; data/quickcheck.yaml)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_dora_helpers import C, D, I, build, run

from hivepulse.metrics import quickcheck as qc

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("metric", ["lead_time", "recovery_time"])
@pytest.mark.parametrize("hours,answer", [
    (0.0, 6), (0.9999, 6),  # less than one hour
    (1.0, 5), (23.9999, 5),  # exactly 1 h is no longer "less than one hour"
    (24.0, 4), (167.9999, 4),  # one day .. one week
    (168.0, 3), (719.9999, 3),  # one week .. one month (30 days)
    (720.0, 2), (4319.9999, 2),  # one to six months (180 days)
    (4320.0, 1), (1e7, 1),  # more than six months
])
def test_duration_buckets_at_every_edge(metric: str, hours: float, answer: int) -> None:
    assert qc.duration_answer(hours, metric) == answer


@pytest.mark.parametrize("deployments,days,answer", [
    (28, 14, 6), (27, 14, 5),  # two per day on average = "multiple deploys per day"
    (14, 14, 5), (13, 14, 4),  # one per day
    (2, 14, 4), (1, 14, 3),  # one per week: 2 * 7 >= 14, 1 * 7 < 14
    (1, 30, 3), (1, 31, 2),  # one per month: 1 * 30 >= 30, < 31
    (1, 180, 2), (1, 181, 1),  # one per six months
    (6, 180, 3), (5, 180, 2),  # 6 * 30 >= 180
    (0, 14, 1), (0, 1, 1),  # zero deployments: answer 1, never "not answered"
])
def test_frequency_buckets_at_every_edge(deployments: int, days: float, answer: int) -> None:
    assert qc.frequency_answer(deployments, days) == answer


def test_answer_texts_are_the_quick_checks() -> None:
    assert qc.answer_text("lead_time", 6) == "Less than one hour"
    assert qc.answer_text("lead_time", 1) == "More than six months"
    assert qc.answer_text("deployment_frequency", 6) == "On demand (multiple deploys per day)"
    assert qc.answer_text("deployment_frequency", 5) == "Between once per hour and once per day"
    assert qc.answer_text("recovery_time", 4) == "One day to one week"


@pytest.mark.parametrize("answer,score", [(1, 0.0), (2, 2.0), (3, 4.0), (4, 6.0), (5, 8.0), (6, 10.0)])
def test_categorical_scores(answer: int, score: float) -> None:
    assert qc.categorical_score(answer) == pytest.approx(score, abs=1e-12)


@pytest.mark.parametrize("percent,score", [(0, 10.0), (100, 0.0), (50, 5.0), (7.5, 9.25), (150, 0.0), (-3, 10.0)])
def test_percentage_scores(percent: float, score: float) -> None:
    assert qc.percentage_score(percent) == pytest.approx(score, abs=1e-12)


def test_overall_throughput_stability() -> None:
    # LT 5 h -> answer 5 (8), DF 30 in 14 days -> 6 (10), recovery 0.5 h -> 6 (10), CFR 10% -> 9, rework 20% -> 8
    result = qc.score({"lead_time": 5.0, "recovery_time": 0.5, "change_fail_rate": 0.10, "rework_rate": 0.20},
                      deployments=30, window_days=14)
    assert result.overall == pytest.approx((8 + 10 + 10 + 9 + 8) / 5)  # 9.0
    assert result.throughput == pytest.approx(28 / 3)
    assert result.stability == pytest.approx(8.5)
    assert result.missing == ()
    assert result.get("lead_time").answer == 5 and result.get("lead_time").text == "Less than one day"
    assert result.get("change_fail_rate").percent == pytest.approx(10.0)


def test_missing_metrics_are_left_out_as_the_quick_check_does() -> None:
    # no recovery time (no failed deployment) and no rework rate: the overall mean skips them (the Quick Check's
    # calculatePerformanceAverage skips unanswered metrics); the groups too
    result = qc.score({"lead_time": 30.0, "recovery_time": None, "change_fail_rate": 0.0, "rework_rate": None},
                      deployments=2, window_days=14)
    assert result.missing == ("recovery_time", "rework_rate")
    assert result.get("recovery_time").score is None and result.get("recovery_time").answer is None
    assert result.overall == pytest.approx((6 + 6 + 10) / 3)  # LT answer 4, DF answer 4, CFR 0% -> 10
    assert result.throughput == pytest.approx(6.0)
    assert result.stability == pytest.approx(10.0)
    nothing = qc.score({}, deployments=0, window_days=14)
    assert nothing.throughput == 0.0  # deployment frequency 0 is answered (answer 1 -> 0)
    assert nothing.stability is None and nothing.missing == ("lead_time", "recovery_time", "change_fail_rate",
                                                              "rework_rate")


def test_benchmark_is_2025_all_industries_on_the_score_scale() -> None:
    result = qc.score({}, deployments=0, window_days=14)
    bench = result.benchmark
    assert result.benchmark_name == "All industries"
    assert (bench["lead_time"].mean, bench["lead_time"].sd) == (5.5, 2.4)
    assert (bench["deployment_frequency"].mean, bench["deployment_frequency"].sd) == (4.8, 2.8)
    assert (bench["recovery_time"].mean, bench["recovery_time"].sd) == (7.4, 2.1)
    assert bench["change_fail_rate"].mean == pytest.approx(10 - 1.9)  # raw 1.9 in the file (low is good)
    assert bench["rework_rate"].mean == pytest.approx(10 - 2.2)
    assert bench["stability"].mean == pytest.approx(10 - 2.1)
    assert bench["overall"].mean == pytest.approx((5.5 + 4.8 + 7.4 + 8.1 + 7.8) / 5)


def test_report_scores_the_unrounded_values() -> None:
    # recovery 59 min 59.9 s = 0.99997 h: published as 1.0 (4 significant digits) but still "less than one hour"
    events = build(
        [D("d1", "2026-01-05T10:00:00Z", "failure"), D("d2", "2026-01-05T10:59:59.900Z")],
        changes=[C("c1", "2026-01-05T09:00:00Z", "d2")],
    )
    report = run(events, "2026-01-01", "2026-01-15").published()
    assert report.metrics.recovery_time.value == 1.0
    assert report.quick_check.get("recovery_time").answer == 6
    block = report.to_dict()["quick_check"]
    # lead time 1 h 59 min 59.9 s -> answer 5 (8); 1 deployment in 14 days -> answer 3 (4); recovery answer 6 (10);
    # CFR 1 of 2 = 50% -> 5; rework 0 of 1 -> 10
    assert [block["metrics"][m]["score"] for m in qc.QUICK_CHECK_METRICS] == [8.0, 4.0, 10.0, 5.0, 10.0]
    assert block["overall"] == 7.4 and block["throughput"] == 7.3333 and block["stability"] == 7.5


def test_open_incident_leaves_recovery_unanswered() -> None:
    events = build([D("d1", "2026-01-05T10:00:00Z")], changes=[C("c1", "2026-01-05T09:00:00Z", "d1")],
                   incidents=[I("i1", "2026-01-05T11:00:00Z", deployment_id="d1")])
    block = run(events, "2026-01-01", "2026-01-15").to_dict()["quick_check"]
    assert block["missing"] == ["recovery_time"]
    assert block["metrics"]["recovery_time"] == {"type": "categorical", "answer": None, "percent": None,
                                                 "text": "no value (not answered)", "score": None,
                                                 "benchmark": {"mean": 7.4, "sd": 2.1}}


def test_metrics_json_has_quick_check() -> None:
    out = subprocess.run([sys.executable, "-m", "hivepulse", "metrics", "--events", "data/sample", "--since",
                          "2026-04-27", "--until", "2026-05-25", "--format", "json"], cwd=ROOT, text=True,
                         capture_output=True, timeout=120, check=True)
    block = json.loads(out.stdout)["quick_check"]
    # sample: LT 18.6 h -> 5 (8); 130 in 28 days = 4.6/day -> 6 (10); recovery 0.9992 h -> 6 (10);
    # CFR 10/132 = 7.576% -> 9.2424; rework 6/130 = 4.615% -> 9.5385
    assert [block["metrics"][m]["answer"] for m in ("lead_time", "deployment_frequency", "recovery_time")] == [5, 6, 6]
    assert block["overall"] == pytest.approx((8 + 10 + 10 + (10 - 100 * 10 / 132 / 10) + (10 - 100 * 6 / 130 / 10)) / 5,
                                             abs=1e-4)
    assert block["benchmark"]["name"] == "All industries"
