"""Signals, measurements and claims from real engine output: ``compute()`` on small event sets built with the
``test_dora_helpers`` builders (every number below is derived by hand from the events, in the comments)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_dora_helpers import C, D, I, build

from hivepulse.metrics import dora, tiers
from hivepulse.metrics.dora import MetricsConfig, Window, compute, iterations
from hivepulse.retro import claims as claims_mod
from hivepulse.retro import signals as sig
from hivepulse.retro.claims import claims
from hivepulse.retro.facts import Iteration, Measurement
from hivepulse.retro.fmt import evidence_line
from hivepulse.retro.measure import measurements
from hivepulse.retro.profiling import Finding
from hivepulse.retro.result import change_text
from hivepulse.vocabulary import SMALL_SAMPLE

START = pd.Timestamp("2026-03-02T00:00:00Z")  # a Monday; iterations are 14 days
DAYS = 14


def at(hours: float) -> str:
    return (START + pd.Timedelta(hours=hours)).isoformat()


def report(events, since="2026-03-02", until="2026-03-16", *, previous=False):
    """The published report of one iteration, as the retro reads it."""
    return compute(events, Window.parse(since, until), MetricsConfig(), compare_previous=previous).published()


def iteration_rows(offset_days: float = 0, *, lead=(20.0, 84.0), deployments=20, failure=True):
    """One iteration's rows of the base history, shifted by ``offset_days``: ``deployments`` successful
    deployments every 16 h from 08:00 on day 0 (20 of them: 10/week, elite), each shipping one change per
    ``lead`` value (committed that many hours before the deployment), and, with ``failure``, an incident on
    the 5th deployment resolved 30 minutes after it (change fail rate 1/20 = 0.05, elite; recovery 0.5 h,
    elite, n = 1)."""
    deps, changes, incidents = [], [], []
    base = offset_days * 24
    for k in range(deployments):
        finish = base + 8 + 16 * k
        dep = f"d{offset_days:g}-{k}"
        deps.append(D(dep, at(finish)))
        changes += [C(f"c{offset_days:g}-{k}-{j}", at(finish - hours), dep) for j, hours in enumerate(lead)]
    if failure:
        incidents.append(I(f"i{offset_days:g}", at(base + 8 + 16 * 4 + 0.1), at(base + 8 + 16 * 4 + 0.5),
                           deployment_id=f"d{offset_days:g}-4"))
    return deps, changes, incidents


def history_events(count: int):
    """``count`` consecutive iterations of the base pattern, the last one [2026-03-02, 2026-03-16)."""
    rows = [iteration_rows(-DAYS * i) for i in range(count)]
    return build(*[sum((r[t] for r in rows), []) for t in range(3)])


def base_report():
    # 40 changes: 20 of 20 h and 20 of 84 h -> median (20 + 84) / 2 = 52 h (high: 24 <= 52 < 168). Every
    # bootstrap median is 20, 52 or 84 (it is 20 when 21 or more of the 40 draws are low, P = 0.44), so the
    # 2.5 % and 97.5 % quantiles of 2,000 resampled medians are 20 and 84.
    return report(build(*iteration_rows()))


# ---------------------------------------------------------------------------------------------- evidence


def test_evidence_line_states_value_n_ci_and_tier():
    assert evidence_line("lead_time", base_report().lead_time) == "lead time median 52 h (n=40, CI 20-84 h, tier high)"
    # 40 deployments, 5 failed: 12.5 %; Wilson(5, 40) = [0.0546, 0.2611]; tier medium (10 % < 12.5 % <= 15 %)
    deps = [D(f"d{k}", at(8 + 8 * k), "failure" if k % 8 == 0 else "success") for k in range(40)]
    r = report(build(deps))
    assert evidence_line("change_fail_rate", r.change_fail_rate) == (
        "change fail rate 12.5% (n=40, CI 5.5-26.1%, tier medium)"
    )


def test_below_tier_lead_time_reach_is_share_of_changes_over_the_next_cutoff():
    # lead time high; 20 of the 40 changes take >= 24 h (the elite cut-off, the next tier from high): reach 0.5
    found = [s for s in sig.detect(base_report()) if s.kind == "below_tier"]
    assert len(found) == 1
    s = found[0]
    assert (s.metric, s.tier, s.reach, s.impact) == ("lead_time", "high", 0.5, 1.0)
    assert s.confidence == 1.0  # n = 40 >= 30
    assert "lead time median 52 h (n=40, CI 20-84 h, tier high)" in s.evidence
    assert "next tier elite needs 24 h" in s.evidence


def pr_events(stages):
    """One deployment per row of ``stages`` (coding, pickup, review, deploy hours), one PR change each."""
    deps, changes = [], []
    for k, (coding, pickup, review, deploy) in enumerate(stages):
        finish = 8 + 24 * k
        merged = finish - deploy
        first_review = merged - review
        opened = first_review - pickup
        deps.append(D(f"d{k}", at(finish)))
        changes.append(C(f"c{k}", at(opened - coding), f"d{k}", pr_opened_at=at(opened),
                         first_review_at=at(first_review), merged_at=at(merged)))
    return build(deps, changes)


def test_dominant_pickup_stage():
    # stage hours per change: coding 1, pickup 20, review 2, deploy 2 (x3 changes); pickup share = 60/75 = 0.8
    s = next(s for s in sig.detect(report(pr_events([(1, 20, 2, 2)] * 3))) if s.kind == "dominant_stage")
    assert s.stage == "pickup"
    assert s.value == pytest.approx(0.8)
    assert s.reach == 1.0  # pickup is the longest stage of all 3 changes
    assert s.confidence == 0.5  # n = 3 pull requests
    assert "pickup is 80% of it" in s.evidence


def test_no_dominant_stage_when_balanced():
    r = report(pr_events([(2, 2, 2, 2)] * 5))
    assert not [s for s in sig.detect(r) if s.kind == "dominant_stage"]


def failures_events(current_failed: int):
    """20 deployments a week in [Mar 9, Mar 16) with ``current_failed`` failed attempts (status), none of 20
    the week before."""
    deps = [D(f"p{k}", at(7 * 24 + 8 * k - 7 * 24)) for k in range(20)]
    deps += [D(f"c{k}", at(7 * 24 + 8 * k), "failure" if k < current_failed else "success") for k in range(20)]
    return build(deps)


def test_regression_needs_significance():
    # 10 of 20 failed now, 0 of 20 before: Fisher p = 0.00044 < 0.05, regressed
    r = report(failures_events(10), "2026-03-09", "2026-03-16", previous=True)
    assert ("regression", "change_fail_rate") in [(s.kind, s.metric) for s in sig.detect(r)]
    # 2 of 20 now: worse, but Fisher p = 0.49: no regression is claimed
    r2 = report(failures_events(2), "2026-03-09", "2026-03-16", previous=True)
    assert r2.comparison.change_fail_rate.p_value == pytest.approx(0.4872, abs=1e-4)
    assert ("regression", "change_fail_rate") not in [(s.kind, s.metric) for s in sig.detect(r2)]


def test_big_batches_and_unrecovered_failures():
    # a (12 changes), x failed, b (10), c (2), y failed and last: x recovers with b, y never recovers
    deps = [D("a", at(8)), D("x", at(20), "failure"), D("b", at(32)), D("c", at(44)), D("y", at(56), "failure")]
    changes = [C(f"a{i}", at(2), "a") for i in range(12)] + [C(f"b{i}", at(30), "b") for i in range(10)]
    changes += [C(f"c{i}", at(40), "c") for i in range(2)]
    found = {s.kind: s for s in sig.detect(report(build(deps, changes)))}
    big = found["big_batches"]
    assert big.value == 10.0  # median of 12, 10, 2
    assert big.reach == pytest.approx(22 / 24)  # changes in deployments of >= 10 changes
    unrec = found["unrecovered_failures"]
    assert (unrec.value, unrec.n, unrec.reach) == (1.0, 2, 0.5)


def test_missing_data_only_where_expected():
    # 10 deployments, no change, no failure: lead time has no observation although deployments were counted
    r = report(build([D(f"d{k}", at(8 + 24 * k)) for k in range(10)]))
    assert (r.lead_time.value, r.lead_time.n, r.recovery_time.n, r.change_fail_rate.value) == (None, 0, 0, 0.0)
    missing = [s.metric for s in sig.detect(r) if s.kind == "missing_data"]
    assert missing == ["lead_time"]  # no failures: recovery time is not applicable, not missing


def test_only_problem_findings_become_signals():
    listed = {"metric": "p95_latency_ms", "value": 850.0, "text": "p95 850 ms (n=200)"}  # no kind: evidence only
    good = {**listed, "kind": "good", "threshold": 1000.0}
    bad = {**listed, "kind": "problem", "threshold": 500.0, "n": 200, "reach": 0.2, "reach_text": "20% of requests"}
    findings = [Finding.from_json(f) for f in (listed, good, bad)]
    found = [s for s in sig.detect(base_report(), findings=findings) if s.kind == "finding"]
    assert len(found) == 1
    f = found[0]
    # gap (850 - 500) / 500 = 0.7 -> impact 2; n=200 -> 1.0, capped at 0.8 (a lab measurement)
    assert (f.metric, f.value, f.reach, f.impact, f.confidence) == ("p95_latency_ms", 850.0, 0.2, 2.0, 0.8)
    assert f.evidence == "p95 850 ms (n=200); reach: 20% of requests"


def lead_events(previous_hours, current_hours):
    deps = [D("prev", "2026-02-27T00:00:00Z"), D("cur", "2026-03-13T00:00:00Z")]
    changes = [C(f"p{i}", (pd.Timestamp("2026-02-27T00:00:00Z") - pd.Timedelta(hours=h)).isoformat(), "prev")
               for i, h in enumerate(previous_hours)]
    changes += [C(f"c{i}", (pd.Timestamp("2026-03-13T00:00:00Z") - pd.Timedelta(hours=h)).isoformat(), "cur")
                for i, h in enumerate(current_hours)]
    return build(deps, changes)


def test_claims_only_significant_changes():
    quiet = claims(report(history_events(2), previous=True))  # the same pattern twice: nothing changed
    assert not [c for c in quiet.went_well + quiet.to_improve if c.kind in ("improved", "regressed")]
    # previous 86..93 h (median 89.5 -> "90 h"), now 1..8 h: U = 0, exact p = 2 / C(16, 8) = 0.000155
    loud = claims(report(lead_events(range(86, 94), range(1, 9)), previous=True))
    improved = [c for c in loud.went_well if c.kind == "improved"]
    assert len(improved) == 1 and "from 90 h" in improved[0].text and "p=0.000" in improved[0].text
    assert improved[0].text.startswith("Improved: lead time median from 90 h (n=8) to 4.5 h (n=8, CI")


def test_streaks_and_elite():
    reports = [r.published() for r in iterations(history_events(3), until="2026-03-16", days=DAYS, count=3)]
    history = [Iteration(r) for r in reports[:2]]  # lead time high in both earlier iterations
    out = claims(reports[2], history)
    kinds = {(c.kind, c.metric) for c in out.went_well}
    assert ("streak", "lead_time") in kinds and ("elite", "deployment_frequency") in kinds
    assert ("streak", "lead_time") not in {(c.kind, c.metric) for c in claims(reports[2], history[:1]).went_well}


def test_measurements():
    # three deployments of one PR change each, pickup 20, 10, 30 h (coding 1, review 2, deploy 2): lead times
    # 25, 15, 35 h; pickup is 60 of the 75 stage hours
    events = pr_events([(1, 20, 2, 2), (1, 10, 2, 2), (1, 30, 2, 2)])
    meas = measurements(report(events))
    assert meas["pickup_hours_median"] == Measurement(20.0, 3)
    assert meas["pickup_share"].value == pytest.approx(60 / 75)
    assert meas["changes_per_deployment"] == Measurement(1.0, 3)  # one change per deployment
    assert meas["lead_time"] == Measurement(25.0, 3)
    assert meas["unrecovered_failures"] == Measurement(0.0, 0)  # no failed deployment: 0 of 0
    two = build([D("d1", at(32)), D("d2", at(56))], [C("a", at(20), "d1"), C("b", at(21), "d1"), C("c", at(50), "d2")])
    assert measurements(report(two))["changes_per_deployment"] == Measurement(1.5, 2)  # 2 and 1 changes


def test_next_tier_cutoffs_in_metric_units():
    assert tiers.next_tier_cutoff("lead_time", "high") == ("elite", 24.0)
    assert tiers.next_tier_cutoff("deployment_frequency", "medium") == ("high", 1.0)  # once a week
    assert tiers.next_tier_cutoff("change_fail_rate", "low") == ("medium", 0.15)
    assert tiers.next_tier_cutoff("lead_time", "elite") is None


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
    # A freeze: 0 deployments in 14 days (CI 0-1.84/week, tier low), significantly fewer than 7 in the 14 days
    # before (3.5/week): Poisson exact conditional test, 0 of 7 with equal exposure: p = 2 / 2^7 = 0.0156
    events = build([D(f"d{k}", at(-14 * 24 + 8 + 48 * k)) for k in range(7)])
    zero = report(events, previous=True)
    assert (zero.deployment_frequency.value, zero.deployment_frequency.tier) == (0.0, "low")
    assert zero.comparison.deployment_frequency.p_value == pytest.approx(2 / 2**7, abs=1e-4)
    kinds = {(s.kind, s.metric) for s in sig.detect(zero)}
    assert kinds == {("below_tier", "deployment_frequency"), ("regression", "deployment_frequency")}
    # the same numbers from a source that holds no deployment of the environment at all: nobody records them
    kinds = {(s.kind, s.metric) for s in sig.detect(zero, deployments_in_source=False)}
    assert kinds == {("missing_data", "deployment_frequency")}
    missing = next(s for s in sig.detect(zero, deployments_in_source=False))
    assert "anywhere in the source" in missing.evidence


def test_lead_time_without_changes_is_missing_only_when_nothing_explains_it():
    plain = report(build([D("d1", at(8))]))
    assert [s.metric for s in sig.detect(plain) if s.kind == "missing_data"] == ["lead_time"]
    # a first deployment's changes are excluded from lead time (data-quality note), not missing
    first = report(build([D("d1", at(8), first=True)], [C("a", at(2), "d1"), C("b", at(3), "d1")]))
    assert first.data_quality.first_deployment_changes_excluded == 2 and first.lead_time.n == 0
    assert not [s for s in sig.detect(first) if s.kind == "missing_data"]
    # an iteration whose only deployment is a rollback ships no change by definition
    rollback = report(build([D("d0", at(-48)), D("d1", at(8), rollback_of="d0")]))
    assert not [s for s in sig.detect(rollback) if s.kind == "missing_data"]
    # no deployment at all: the deployment-frequency signal covers it
    none = report(build([D("d0", at(-48))]))
    assert none.deployment_frequency.n == 0
    assert not [s for s in sig.detect(none) if s.kind == "missing_data"]


def test_small_samples_are_flagged_in_claims():
    # recovery time: one failure (n = 1), 0.5 h; lead time: 3 changes of 100, 200, 300 h (median 200, medium;
    # each bootstrap median is one of the three values, P(100) = P(300) = 7/27, so the CI is 100-300)
    deps, _, incidents = iteration_rows(lead=())
    changes = [C(f"c{k}", at(8 + 16 * k - hours), f"d0-{k}") for k, hours in enumerate((100, 200, 300))]
    out = claims(report(build(deps, changes, incidents)))
    texts = {c.kind + ":" + c.metric: c.text for c in out.went_well + out.to_improve}
    assert texts["elite:recovery_time"] == (
        "Elite: recovery time median 0.5 h (n=1, CI 0.5-0.5 h, tier elite) (small sample, read with care)")
    assert texts["below_tier:lead_time"].endswith("(n=3, CI 100-300 h, tier medium) (small sample, read with care)")
    assert not texts["elite:deployment_frequency"].endswith("read with care)")  # n = 20


def test_streak_stops_at_an_iteration_outside_the_data():
    reports = [r.published() for r in iterations(history_events(4), until="2026-03-16", days=DAYS, count=4)]
    # deployment frequency is elite in every iteration; the oldest one lies before the data
    history = [Iteration(reports[0], covered=False), Iteration(reports[1]), Iteration(reports[2])]
    out = claims(reports[3], history)
    streak = next(c for c in out.went_well if c.kind == "streak" and c.metric == "deployment_frequency")
    assert streak.text == "Streak: deployment frequency at high or elite for 3 iterations"
    # recovery time has n = 1 in each: the streak is flagged
    rec = next(c for c in out.went_well if c.kind == "streak" and c.metric == "recovery_time")
    assert rec.text.endswith("for 3 iterations (small sample, read with care)")


def test_change_text_says_why_there_is_no_test():
    assert change_text(base_report(), "lead_time") == "no previous iteration in the data"
    # changes now, none in the previous iteration: no test
    only_now = report(lead_events([], [1, 2, 3]), previous=True)
    assert change_text(only_now, "lead_time") == "no data in the previous iteration (no test)"
    only_before = report(lead_events([1, 2, 3, 4, 5], []), previous=True)
    assert change_text(only_before, "lead_time") == "no data now (no test)"
    # the same 40 lead times in both iterations: U = n1 n2 / 2, p = 1
    assert change_text(report(history_events(2), previous=True), "lead_time") == "no significant change (p=1.000)"


def test_small_sample_threshold_is_one_number_for_engine_and_retro():
    # one table (hivepulse.vocabulary): the engine lists a metric under data_quality.small_samples exactly when
    # the retro flags its claims; neither keeps a copy
    assert not hasattr(sig, "SMALL_SAMPLE") and claims_mod.SMALL_SAMPLE is SMALL_SAMPLE == dora.SMALL_SAMPLE
    for n, flagged in ((SMALL_SAMPLE - 1, True), (SMALL_SAMPLE, False)):
        deps = [D(f"d{k}", at(8 + 24 * k)) for k in range(n)]
        r = report(build(deps, [C(f"c{k}", at(7 + 24 * k), f"d{k}") for k in range(n)]))
        elite = next(c for c in claims(r).went_well if c.kind == "elite" and c.metric == "lead_time")
        assert ("lead_time" in r.data_quality.small_samples) is flagged
        assert elite.text.endswith("(small sample, read with care)") is flagged


def test_the_retro_reads_only_the_typed_report():
    # no second layout, no guessed column names: a dict is not an engine report
    with pytest.raises(AttributeError):
        sig.detect({"lead_time": {"value": 1.0, "n": 1}})  # type: ignore[arg-type]
    assert not hasattr(sig, "LEAD_TIME_COLUMNS") and not hasattr(sig, "metric_block")
