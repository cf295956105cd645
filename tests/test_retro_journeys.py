"""A team lead's journeys through consecutive retros, at library level (no kernel): the bundled sample across
the release freeze, a real git repository with a single tag, windows outside the data, ledger follow-ups,
idempotent and out-of-order runs. Expected values come from docs/sample.md (seed 42) and are restated in the
comments."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from gitrepo import GitRepo

from hivepulse.errors import InputError
from hivepulse.report import sections as S
from hivepulse.retro.analysis import RetroParams, analyze, preflight
from hivepulse.retro.facts import Claims
from hivepulse.sources.files import read_events

REPO = Path(__file__).resolve().parents[1]
BEFORE_FREEZE = ("2025-12-08", "2025-12-22")  # iteration 2: pickup bottleneck, 8 prod deployments
FREEZE = ("2025-12-22", "2026-01-05")  # iteration 3: no production deployment at all
AFTER_FREEZE = ("2026-01-05", "2026-01-19")  # iteration 4: 6 deployments, pickup median 49.2 h


@pytest.fixture(scope="module")
def sample():
    return read_events(REPO / "data" / "sample")


def run(events, window, out: Path, **extra):
    result = analyze(RetroParams(since=window[0], until=window[1], output_dir=str(out), findings="", **extra),
                     events=events)
    result.write()
    return result


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_three_retros_across_the_freeze(sample, tmp_path):
    first = run(sample, BEFORE_FREEZE, tmp_path)
    assert [a.action_id for a in first.actions] == ["review-pickup-time", "trunk-based-development",
                                                    "end-to-end-tests"]

    freeze = run(sample, FREEZE, tmp_path, allow_empty=True)
    # Zero deployments in a window covered by the data is a measurement (0/week, a significant drop from
    # 7 successful deployments in 2 weeks = 3.5/week), not missing data: the freeze asks to unblock
    # deployments, never to "instrument deployments / changes".
    ids = [a.action_id for a in freeze.actions]
    assert ids[0] == "unblock-deployments" and "release-automation" in ids
    assert not any(i.startswith("instrument-") for i in ids)
    assert not any(s.kind == "missing_data" for s in freeze.signals)
    # Nothing of the previous retro can be judged (no deployment, no change): not measurable, and the items
    # stay open (pending) instead of vanishing from the ledger.
    assert {f.verdict for f in freeze.followups} == {"not measurable"}
    assert {f.outcome for f in freeze.followups} == {"still open"}
    assert sorted(p.action_id for p in freeze.pending) == ["end-to-end-tests", "review-pickup-time",
                                                           "trunk-based-development"]

    after = run(sample, AFTER_FREEZE, tmp_path)
    verdicts = {f.action_id: f.verdict for f in after.followups}
    # pickup median 49 h > target 34 h (half of 68 h): not met; deployment frequency 3.0/week < 3.5/week
    # (unblock-deployments' target: the previous value before the freeze): not met; >= 0.23/week: met.
    assert verdicts == {"unblock-deployments": "not met", "release-automation": "met",
                        "review-pickup-time": "not met", "trunk-based-development": "not met",
                        "end-to-end-tests": "not met"}
    pickup = next(f for f in after.followups if f.action_id == "review-pickup-time")
    # docs/sample.md: pickup median 67.8 h in iteration 2, 49.2 h in iteration 4; target = 50% of the baseline
    assert (round(pickup.then, 1), round(pickup.now, 1)) == (67.8, 49.2)
    assert pickup.target == pytest.approx(pickup.then * 0.5, abs=1e-6)
    # carried over without duplication: each action id once, original ids and origins kept
    assert len({a.action_id for a in after.actions}) == len(after.actions) == 3
    assert all(a.carried_from for a in after.actions)
    carried_ids = {a.id for a in after.actions} | {p.id for p in after.pending}
    assert "2025-12-08_2025-12-22/review-pickup-time" in carried_ids
    # 4 items not met, max_actions = 3: the one that did not fit stays open (pending) for the next retro
    unmet = {k for k, v in verdicts.items() if v == "not met"}
    assert {p.action_id for p in after.pending} == unmet - {a.action_id for a in after.actions}
    assert len(after.pending) == 1
    assert "1 unmet item(s) did not fit" in S.followup_html(after)


def test_carried_item_evidence_is_this_iterations_numbers(sample, tmp_path):
    run(sample, BEFORE_FREEZE, tmp_path)
    run(sample, FREEZE, tmp_path, allow_empty=True)
    after = run(sample, AFTER_FREEZE, tmp_path)
    record = json.loads((tmp_path / after.iteration / "metrics.json").read_text())
    unblock = next(a for a in after.actions if a.action_id == "unblock-deployments")
    # The freeze's evidence said "0.00/week (n=0)"; now it must state this iteration's 3.00/week (n=6).
    assert unblock.evidence.startswith("not met at this retro: deployment_frequency 0.00/week -> 3.00/week (n=6)")
    assert record["metrics"]["deployment_frequency"]["value"] == 3.0
    assert record["metrics"]["deployment_frequency"]["n"] == 6


def test_rerun_is_byte_identical_and_older_runs_do_not_corrupt_the_ledger(sample, tmp_path):
    for window in (BEFORE_FREEZE, FREEZE, AFTER_FREEZE):
        run(sample, window, tmp_path, allow_empty=True)
    before = snapshot(tmp_path)
    run(sample, AFTER_FREEZE, tmp_path)  # re-run the newest
    run(sample, BEFORE_FREEZE, tmp_path)  # then an older one, after the newer ones
    run(sample, FREEZE, tmp_path, allow_empty=True)
    assert snapshot(tmp_path) == before
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert sorted(ledger["iterations"]) == ["2025-12-08_2025-12-22", "2025-12-22_2026-01-05",
                                            "2026-01-05_2026-01-19"]
    # an older iteration run for the first time after newer ones follows up only what came before it
    fresh = tmp_path / "fresh"
    run(sample, AFTER_FREEZE, fresh)
    older = run(sample, BEFORE_FREEZE, fresh)
    assert older.previous_iteration is None and older.followups == []
    assert list(json.loads((fresh / "ledger.json").read_text())["iterations"]) == [
        "2025-12-08_2025-12-22", "2026-01-05_2026-01-19"]


def test_first_iteration_of_the_data_claims_no_change_against_the_void(sample, tmp_path):
    # [2025-11-24, 2025-12-08) is the first iteration of the sample: the previous one lies before the first
    # production deployment, so "deployment frequency improved from 0.00/week" would be an artefact.
    result = run(sample, ("2025-11-24", "2025-12-08"), tmp_path)
    assert result.current.comparison is None
    assert not any(c.kind in ("improved", "regressed") for c in result.claims.went_well +
                   result.claims.to_improve)
    notes = " ".join(result.data_quality_notes())
    assert "previous iteration lies before the first production deployment" in notes
    assert result.covered == [False, False, False, False, False, True]
    assert "no previous iteration in the data" in S.headline_html(result)
    assert not any(h["covered"] for h in result.metrics_record()["history"])


def test_iteration_after_the_data_measures_nothing(sample, tmp_path):
    run(sample, ("2026-05-11", "2026-05-25"), tmp_path)
    result = run(sample, ("2026-05-25", "2026-06-08"), tmp_path, allow_empty=True)  # the sample ends 2026-05-25
    assert result.actions == [] and result.signals == []
    assert result.claims == Claims(went_well=[], to_improve=[])
    assert result.followups and {f.verdict for f in result.followups} == {"not measurable"}
    assert "Not enough data" in result.data_quality_notes()[0]


def test_unknown_environment_is_an_input_error(sample, tmp_path):
    with pytest.raises(InputError, match="environment.*got 'prod'; expected development or production or staging"):
        analyze(RetroParams(environment="prod", output_dir=str(tmp_path), findings=""), events=sample)


def test_votes_raise_scores_of_actions_on_the_same_metric(sample, tmp_path):
    plain = run(sample, BEFORE_FREEZE, tmp_path / "a")
    notes = tmp_path / "b" / "notes"
    notes.mkdir(parents=True)
    (notes / "2025-12-08_2025-12-22.yaml").write_text(
        "to_improve:\n  - text: Reviews wait for days\n    votes: 3\n    metric: lead_time\n", encoding="utf-8")
    voted = run(sample, BEFORE_FREEZE, tmp_path / "b")
    before = {a.action_id: a.score for a in plain.candidates}
    after = {a.action_id: a.score for a in voted.candidates}
    for a in voted.candidates:
        factor = 1.3 if a.metric == "lead_time" else 1.0  # 1 + 0.1 x 3 votes
        assert after[a.action_id] == pytest.approx(before[a.action_id] * factor, abs=1e-3), a.action_id
    assert after["review-pickup-time"] == pytest.approx(1.2821 * 1.3, abs=1e-3)


# ---------------------------------------------------------------------------------------------- git


@pytest.fixture(scope="module")
def single_tag(tmp_path_factory):
    """Two commits, one tag (v1.0.0 on 2026-03-04), one commit after it: the smallest real history."""
    repo = GitRepo(tmp_path_factory.mktemp("git") / "repo")
    repo.commit("feat: one", "2026-03-02T10:00:00+00:00")
    repo.commit("fix: two", "2026-03-03T10:00:00+00:00")
    repo.git("tag", "-a", "v1.0.0", "-m", "release", tag_when="2026-03-04T10:00:00+00:00")
    repo.commit("feat: three", "2026-03-05T10:00:00+00:00")
    return repo.path


def git_run(path, window, out, **extra):
    result = analyze(RetroParams(source="git", path=str(path), since=window[0], until=window[1],
                                 output_dir=str(out), findings="", **extra))
    result.write()
    return result


def test_git_single_tag_is_honest(single_tag, tmp_path):
    result = git_run(single_tag, ("2026-03-02", "2026-03-16"), tmp_path)  # default previous_iterations = 5
    # the only deployment is a first deployment: its changes are excluded, so lead time has n = 0; that is
    # explained in the data-quality notes, not an "instrument changes" action
    assert not any(s.kind == "missing_data" for s in result.signals)
    elite = [c.text for c in result.claims.went_well if c.kind == "elite"]
    assert elite and all(t.endswith("(small sample, read with care)") for t in elite)
    assert result.current.comparison is None  # the previous iteration is before the first tag
    assert len(S.trend_pngs(result)) == 5 and S.timeline(result).data  # charts render, 5 of 6 windows empty


def test_git_window_before_the_first_tag_claims_nothing(single_tag, tmp_path):
    git_run(single_tag, ("2026-03-02", "2026-03-16"), tmp_path)
    result = git_run(single_tag, ("2026-02-02", "2026-02-16"), tmp_path, allow_empty=True)
    assert result.actions == [] and result.claims == Claims(went_well=[], to_improve=[])
    assert result.data_quality_notes()[0].startswith("Not enough data: this iteration lies outside the data "
                                                     "(it ends before the first production deployment")
    assert result.previous_iteration is None  # the later entry is not a "previous" one
    result = git_run(single_tag, ("2026-03-30", "2026-04-13"), tmp_path, allow_empty=True)  # after the history
    assert {f.verdict for f in result.followups} == {"not measurable"}  # measurable targets included
    assert result.actions == []


def test_preflight_rejects_bad_input_without_data(tmp_path):
    with pytest.raises(InputError, match="column 'tz'"):
        preflight(RetroParams(tz="Mars/Base", output_dir=str(tmp_path)))
    with pytest.raises(InputError, match="column 'tier_edition'"):
        preflight(RetroParams(tier_edition="2019", output_dir=str(tmp_path)))
    with pytest.raises(InputError, match="column 'max_actions'"):
        preflight(RetroParams(max_actions=-1, output_dir=str(tmp_path)))
    (tmp_path / "actions.yaml").write_text("actions:\n  - id: mine\n    title: x\n")
    with pytest.raises(InputError, match=r"actions.yaml, column 'mine.signal': missing field"):
        preflight(RetroParams(output_dir=str(tmp_path)))
    (tmp_path / "actions.yaml").unlink()
    (tmp_path / "ledger.json").write_text("{bad")
    with pytest.raises(InputError, match="ledger.json, line 1: not valid JSON"):
        preflight(RetroParams(output_dir=str(tmp_path)))
    (tmp_path / "ledger.json").unlink()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "2026-05-11_2026-05-25.yaml").write_text("to_improve:\n  - text: x\n    votes: two\n")
    with pytest.raises(InputError, match=r"line 3, column 'to_improve\[0\].votes'"):
        preflight(RetroParams(since="2026-05-11", until="2026-05-25", output_dir=str(tmp_path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]  # nothing written


def test_report_sections(sample, tmp_path):
    result = run(sample, AFTER_FREEZE, tmp_path)
    assert S.trends_html(result).count('<img class="hp-trend"') == 5
    quality = S.data_quality(result).data
    assert quality.count("Fewer than 5 observations for: recovery time") == 1  # once, not twice
    assert "Small samples (read with care)" not in quality
    # every candidate not in the list is counted once (a carried id is not "another candidate")
    chosen = {a.action_id for a in result.actions}
    more = len([c for c in result.candidates if c.action_id not in chosen])
    assert (f"{more} more candidate(s)" in S.actions_html(result)) == (more > 0)


def test_headline_flags_small_samples(sample, tmp_path):
    result = run(sample, AFTER_FREEZE, tmp_path)  # recovery time n = 2, the other metrics n >= 6
    page = S.headline_html(result)
    assert page.count("(small sample)") == 1 and "n=2 (small sample), 95% CI" in page


def test_headline_of_an_iteration_outside_the_data_shows_no_numbers(single_tag, tmp_path):
    result = git_run(single_tag, ("2026-03-30", "2026-04-13"), tmp_path, allow_empty=True)  # after the last commit
    page = S.headline_html(result)
    assert page.count(">no data<") == 5 and "0.00/week" not in page
    assert "not measured: the iteration lies outside the data" in page
    assert "| deployment frequency | no data | 0 | - | - | not measured" in result.readme()


def test_evidence_numbers_are_those_of_metrics_json(sample, tmp_path):
    from hivepulse.metrics.results import Metrics
    from hivepulse.retro.fmt import evidence_line
    from hivepulse.vocabulary import METRIC_LABEL, METRICS

    for window in (BEFORE_FREEZE, FREEZE, AFTER_FREEZE, ("2026-03-16", "2026-03-30")):
        result = run(sample, window, tmp_path, allow_empty=True)
        record = json.loads((tmp_path / result.iteration / "metrics.json").read_text())
        recorded = Metrics.from_dict(record["metrics"])  # the figures as metrics.json states them
        lines = {METRIC_LABEL[m]: evidence_line(m, recorded.get(m)) for m in METRICS}
        actions = json.loads((tmp_path / result.iteration / "actions.json").read_text())["actions"]
        for action in actions:
            for label, line in lines.items():
                if action["evidence"].startswith(label):
                    assert action["evidence"].startswith(line), (window, action["evidence"], line)
        for claim in record["claims"]["went_well"] + record["claims"]["to_improve"]:
            if claim["kind"] in ("improved", "regressed"):
                assert record["metrics"]["comparison"][claim["metric"]]["significant"]
