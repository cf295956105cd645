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


def test_findings_become_signals():
    found = sig.detect(metrics(), findings=[{"metric": "p95_latency_ms", "value": 850.0, "text": "p95 850 ms"}])
    f = next(s for s in found if s.kind == "finding")
    assert (f.metric, f.value, f.evidence) == ("p95_latency_ms", 850.0, "p95 850 ms")


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
