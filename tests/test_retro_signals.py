"""Signals, measurements and claims from hand-made metrics dicts (the JSON contract of docs/cli.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from hivepulse.retro import signals as sig


def block(value, n, lo, hi, tier, unit="hours", **extra):
    return {"value": value, "n": n, "ci_low": lo, "ci_high": hi, "tier": tier, "unit": unit, **extra}


def comp(direction="unchanged", significant=False, p=0.5, previous=None):
    return {"p_value": p, "significant": significant, "direction": direction, "previous_value": previous}


def metrics(**over):
    base = {
        "deployment_frequency": block(10.0, 20, 6.0, 15.0, "elite", "deployments/week"),
        "lead_time": block(52.0, 41, 38.0, 70.0, "high"),
        "change_fail_rate": block(0.05, 20, 0.01, 0.2, "elite", "fraction", failed=1),
        "recovery_time": block(0.5, 1, 0.5, 0.5, "elite"),
        "rework_rate": block(0.0, 20, 0.0, 0.16, None, "fraction"),
        "data_quality": {"notes": []},
        "comparison": {m: comp() for m in sig.METRICS},
    }
    base.update(over)
    return base


def lead_times(rows):
    """rows: (lead, coding, pickup, review, deploy, deployment_id)."""
    return pd.DataFrame(
        rows,
        columns=["lead_time_hours", "coding_hours", "pickup_hours", "review_hours", "deploy_hours", "deployment_id"],
    )


def test_evidence_line_states_value_n_ci_and_tier():
    assert sig.evidence_line("lead_time", block(52.0, 41, 38.0, 70.0, "high")) == (
        "lead time median 52 h (n=41, CI 38-70 h, tier high)"
    )
    assert sig.evidence_line("change_fail_rate", block(0.125, 40, 0.05, 0.26, "low", "fraction")) == (
        "change fail rate 12.5% (n=40, CI 5.0-26.0%, tier low)"
    )


def test_below_tier_lead_time_reach_is_share_of_changes_over_the_next_cutoff():
    # 4 changes, 2 of them >= 24 h (elite cut-off, the next tier from high): reach = 2/4 = 0.5
    lt = lead_times([(10, 1, 1, 1, 7, "d1"), (20, 1, 1, 1, 17, "d1"), (30, 1, 1, 1, 27, "d2"), (60, 1, 1, 1, 57, "d2")])
    found = [s for s in sig.detect(metrics(), lead_times=lt) if s.kind == "below_tier"]
    assert len(found) == 1
    s = found[0]
    assert (s.metric, s.tier, s.reach, s.impact) == ("lead_time", "high", 0.5, 1.0)
    assert s.confidence == 1.0  # n = 41 >= 30
    assert "lead time median 52 h (n=41, CI 38-70 h, tier high)" in s.evidence
    assert "next tier elite needs 24 h" in s.evidence


def test_dominant_pickup_stage():
    # stage hours per change: coding 1, pickup 20, review 2, deploy 2 (x3 changes); pickup share = 60/75 = 0.8
    lt = lead_times([(25, 1, 20, 2, 2, "d1")] * 3)
    s = next(s for s in sig.detect(metrics(), lead_times=lt) if s.kind == "dominant_stage")
    assert s.stage == "pickup"
    assert s.value == pytest.approx(0.8)
    assert s.reach == 1.0  # pickup is the longest stage of all 3 changes
    assert s.confidence == 0.5  # n = 3 pull requests
    assert "pickup is 80% of it" in s.evidence


def test_no_dominant_stage_when_balanced():
    lt = lead_times([(8, 2, 2, 2, 2, "d1")] * 5)
    assert not [s for s in sig.detect(metrics(), lead_times=lt) if s.kind == "dominant_stage"]


def test_regression_needs_significance():
    m = metrics(comparison={**{k: comp() for k in sig.METRICS},
                            "change_fail_rate": comp("regressed", True, 0.01, 0.0)})
    kinds = [(s.kind, s.metric) for s in sig.detect(m)]
    assert ("regression", "change_fail_rate") in kinds
    m2 = metrics(comparison={**{k: comp() for k in sig.METRICS},
                             "change_fail_rate": comp("regressed", False, 0.2, 0.0)})
    assert ("regression", "change_fail_rate") not in [(s.kind, s.metric) for s in sig.detect(m2)]


def test_big_batches_and_unrecovered_failures():
    deps = pd.DataFrame({"deployment_id": ["a", "b", "c"], "counted": [True, True, True], "changes": [12, 10, 2]})
    rec = pd.DataFrame({"deployment_id": ["x", "y"], "recovery_status": ["recovered", "unrecovered"],
                        "recovery_hours": [1.0, float("nan")]})
    found = {s.kind: s for s in sig.detect(metrics(), deployments=deps, recoveries=rec)}
    big = found["big_batches"]
    assert big.value == 10.0  # median of 12, 10, 2
    assert big.reach == pytest.approx(22 / 24)  # changes in deployments of >= 10 changes
    unrec = found["unrecovered_failures"]
    assert (unrec.value, unrec.n, unrec.reach) == (1.0, 2, 0.5)


def test_missing_data_only_where_expected():
    m = metrics(lead_time=block(None, 0, None, None, None), recovery_time=block(None, 0, None, None, None),
                change_fail_rate=block(0.0, 10, 0.0, 0.3, "elite", "fraction"))
    missing = [s.metric for s in sig.detect(m) if s.kind == "missing_data"]
    assert missing == ["lead_time"]  # no failures: recovery time is not applicable, not missing


def test_only_problem_findings_become_signals():
    listed = {"metric": "p95_latency_ms", "value": 850.0, "text": "p95 850 ms (n=200)"}  # no kind: evidence only
    good = {**listed, "kind": "good", "threshold": 1000.0}
    bad = {**listed, "kind": "problem", "threshold": 500.0, "n": 200, "reach": 0.2, "reach_text": "20% of requests"}
    found = [s for s in sig.detect(metrics(), findings=[listed, good, bad]) if s.kind == "finding"]
    assert len(found) == 1
    f = found[0]
    # gap (850 - 500) / 500 = 0.7 -> impact 2; n=200 -> 1.0, capped at 0.8 (a lab measurement)
    assert (f.metric, f.value, f.reach, f.impact, f.confidence) == ("p95_latency_ms", 850.0, 0.2, 2.0, 0.8)
    assert f.evidence == "p95 850 ms (n=200); reach: 20% of requests"


def test_claims_only_significant_changes():
    quiet = sig.claims(metrics())
    assert not [c for c in quiet["went_well"] + quiet["to_improve"] if c.kind in ("improved", "regressed")]
    loud = sig.claims(metrics(comparison={**{k: comp() for k in sig.METRICS},
                                          "lead_time": comp("improved", True, 0.001, 90.0)}))
    improved = [c for c in loud["went_well"] if c.kind == "improved"]
    assert len(improved) == 1 and "from 90 h" in improved[0].text and "p=0.001" in improved[0].text


def test_streaks_and_elite():
    history = [metrics(), metrics()]  # lead time high in both earlier iterations
    out = sig.claims(metrics(), history)
    kinds = {(c.kind, c.metric) for c in out["went_well"]}
    assert ("streak", "lead_time") in kinds and ("elite", "deployment_frequency") in kinds
    assert ("streak", "lead_time") not in {(c.kind, c.metric) for c in sig.claims(metrics(), history[:1])["went_well"]}


def test_measurements():
    lt = lead_times([(25, 1, 20, 2, 2, "d1"), (25, 1, 10, 2, 2, "d1"), (25, 1, 30, 2, 2, "d2")])
    meas = sig.measurements(metrics(), lt)
    assert meas["pickup_hours_median"] == {"value": 20.0, "n": 3}
    assert meas["pickup_share"]["value"] == pytest.approx(60 / 75)
    assert meas["changes_per_deployment"] == {"value": 1.5, "n": 2}  # 2 and 1 changes
    assert meas["lead_time"] == {"value": 52.0, "n": 41}
    assert meas["unrecovered_failures"]["value"] is None  # no recoveries table: not measurable


def test_next_tier_cutoffs_in_metric_units():
    assert sig.next_tier_cutoff("lead_time", "high") == ("elite", 24.0)
    assert sig.next_tier_cutoff("deployment_frequency", "medium") == ("high", 1.0)  # once a week
    assert sig.next_tier_cutoff("change_fail_rate", "low") == ("medium", 0.15)
    assert sig.next_tier_cutoff("lead_time", "elite") is None


def test_relative_paths_resolve_from_notebooks_folder(tmp_path, monkeypatch):
    """JupyterLab starts the kernel in notebooks/: project-relative parameters still resolve."""
    from pathlib import Path

    from hivepulse.paths import locate

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root / "notebooks")
    assert locate("data/sample").resolve() == (root / "data" / "sample").resolve()
    assert locate("retro/").resolve() == (root / "retro").resolve()
    assert locate(tmp_path / "new") == tmp_path / "new"  # absolute: unchanged
    assert locate("no-such-dir/") == Path("no-such-dir/")  # created relative to the current directory


def test_zero_deployments_is_a_measurement_when_the_source_has_deployments():
    # A freeze: 0 deployments in 14 days (CI 0-1.84/week, tier low), significantly fewer than 3.5/week before.
    zero = metrics(deployment_frequency=block(0.0, 0, 0.0, 1.84, "low", "deployments/week"),
                   lead_time=block(None, 0, None, None, None),
                   change_fail_rate=block(None, 0, None, None, None, "fraction"),
                   recovery_time=block(None, 0, None, None, None),
                   comparison={**{k: comp() for k in sig.METRICS},
                               "deployment_frequency": comp("regressed", True, 0.016, 3.5)})
    kinds = {(s.kind, s.metric) for s in sig.detect(zero)}
    assert kinds == {("below_tier", "deployment_frequency"), ("regression", "deployment_frequency")}
    # the same numbers from a source that holds no deployment of the environment at all: nobody records them
    kinds = {(s.kind, s.metric) for s in sig.detect(zero, deployments_in_source=False)}
    assert kinds == {("missing_data", "deployment_frequency")}
    missing = next(s for s in sig.detect(zero, deployments_in_source=False))
    assert "anywhere in the source" in missing.evidence


def test_lead_time_without_changes_is_missing_only_when_nothing_explains_it():
    no_lt = {"lead_time": block(None, 0, None, None, None)}
    deps = pd.DataFrame({"counted": [True], "rollback_of": [None], "changes": [0]})
    assert [s.metric for s in sig.detect(metrics(**no_lt), deployments=deps) if s.kind == "missing_data"] == [
        "lead_time"]
    # a first deployment's changes are excluded from lead time (data-quality note), not missing
    first = metrics(**no_lt, data_quality={"notes": [], "first_deployment_changes_excluded": 2})
    assert not [s for s in sig.detect(first, deployments=deps) if s.kind == "missing_data"]
    # an iteration whose only deployment is a rollback ships no change by definition
    rollback = pd.DataFrame({"counted": [True], "rollback_of": ["d0"], "changes": [0]})
    assert not [s for s in sig.detect(metrics(**no_lt), deployments=rollback) if s.kind == "missing_data"]
    # no deployment at all: the deployment-frequency signal covers it
    none = metrics(**no_lt, deployment_frequency=block(0.0, 0, 0.0, 1.84, "low", "deployments/week"))
    assert not [s for s in sig.detect(none) if s.kind == "missing_data"]


def test_small_samples_are_flagged_in_claims():
    small = metrics(change_fail_rate=block(0.0, 1, 0.0, 0.793, "elite", "fraction"),
                    lead_time=block(200.0, 3, 100.0, 300.0, "medium"))
    out = sig.claims(small)
    texts = {c.kind + ":" + c.metric: c.text for c in out["went_well"] + out["to_improve"]}
    assert texts["elite:change_fail_rate"] == (
        "Elite: change fail rate 0.0% (n=1, CI 0.0-79.3%, tier elite) (small sample, read with care)")
    assert texts["below_tier:lead_time"].endswith("(n=3, CI 100-300 h, tier medium) (small sample, read with care)")
    assert not texts["elite:deployment_frequency"].endswith("read with care)")  # n = 20


def test_streak_stops_at_an_iteration_outside_the_data():
    # deployment frequency is elite in every dict; the oldest history entry lies before the data
    history = [{**metrics(), "covered": False}, metrics(), metrics()]
    out = sig.claims(metrics(), history)
    streak = next(c for c in out["went_well"] if c.kind == "streak" and c.metric == "deployment_frequency")
    assert streak.text == "Streak: deployment frequency at high or elite for 3 iterations"
    # recovery time has n = 1 in each: the streak is flagged
    rec = next(c for c in out["went_well"] if c.kind == "streak" and c.metric == "recovery_time")
    assert rec.text.endswith("for 3 iterations (small sample, read with care)")


def test_change_text_says_why_there_is_no_test():
    from hivepulse.retro.analysis import change_text

    assert change_text({"comparison": None}, "lead_time") == "no previous iteration in the data"
    m = metrics(comparison={"lead_time": {**comp(p=None), "previous_n": 0}})
    assert change_text(m, "lead_time") == "no data in the previous iteration (no test)"
    m = metrics(lead_time=block(None, 0, None, None, None),
                comparison={"lead_time": {**comp(p=None), "previous_n": 5}})
    assert change_text(m, "lead_time") == "no data now (no test)"
    assert change_text(metrics(), "lead_time") == "no significant change (p=0.500)"


def test_small_sample_threshold_is_the_engines():
    from hivepulse.metrics.dora import SMALL_SAMPLE

    assert sig.SMALL_SAMPLE == SMALL_SAMPLE  # a copy, so the CLI's input checks need not load the engine
