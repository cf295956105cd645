"""Git source: failure and rework signals (revert, hotfix, fix-only follow-up, rollback), hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest
from gitrepo import GitRepo, change_sets, row

from hivepulse.metrics import dora
from hivepulse.sources.git import GitOptions, read_git


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def kinds(ev) -> dict[str, str]:
    return dict(zip(ev.deployments["deployment_id"], ev.deployments["kind"], strict=True))


@pytest.fixture(scope="module")
def reverted(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("revert"))
    c = {}
    c[1] = repo.commit("feat: base", "2024-03-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-03-01T01:00:00Z")
    c[2] = repo.commit("feat: risky", "2024-03-02T00:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-03-02T10:00:00Z")
    c[3] = repo.revert(c[2], "2024-03-02T12:00:00Z")  # real `git revert`: 'This reverts commit <c2>.'
    repo.tag("v1.1.1", annotated_at="2024-03-02T14:00:00Z")
    c[4] = repo.commit("feat: next", "2024-03-03T00:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-03-03T10:00:00Z")
    return repo, c


def test_revert_marks_failure_and_unplanned(reverted):
    repo, c = reverted
    ev = read_git(repo.path)
    assert change_sets(ev) == {"v1.0.0": {c[1]}, "v1.1.0": {c[2]}, "v1.1.1": {c[3]}, "v1.2.0": {c[4]}}
    assert kinds(ev) == {"v1.0.0": "planned", "v1.1.0": "planned", "v1.1.1": "unplanned", "v1.2.0": "planned"}
    assert ev.changes.set_index("change_id").loc[c[3], "change_type"] == "revert"
    assert len(ev.incidents) == 1
    inc = ev.incidents.iloc[0]
    assert inc["incident_id"] == f"revert:{c[3][:12]}"
    assert inc["deployment_id"] == "v1.1.0"  # the deployment that first shipped the reverted commit
    assert inc["opened_at"] == ts("2024-03-02T12:00:00Z")  # the revert commit's time
    assert inc["resolved_at"] == ts("2024-03-02T14:00:00Z")  # the deployment shipping the revert finished
    assert inc["environment"] == "production"


def test_revert_metrics_through_engine(reverted):
    repo, _ = reverted
    r = dora.compute(read_git(repo.path), dora.Window.parse("2024-03-01", "2024-03-04"), dora.MetricsConfig())
    # 4 deployments; failed: v1.1.0 (incident + fixed by unplanned v1.1.1) -> CFR 1/4; rework 1/4
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 4)
    assert r.rework_rate["unplanned"] == 1
    # recovery of v1.1.0: finished 10:00, incident resolved 14:00 = next good deployment -> 4 h
    assert r.recovery_time["value"] == pytest.approx(4.0)


def test_revert_signal_off(reverted):
    repo, _ = reverted
    ev = read_git(repo.path, GitOptions(revert_signal=False))
    assert ev.incidents.empty
    assert set(kinds(ev).values()) == {"planned"}


def test_revert_in_same_deployment_is_no_failure(tmp_path):
    repo = GitRepo(tmp_path)
    repo.commit("feat: base", "2024-03-01T00:00:00Z")
    repo.tag("v1.0.0")
    c2 = repo.commit("feat: oops", "2024-03-02T00:00:00Z")
    repo.revert(c2, "2024-03-02T01:00:00Z")  # reverted before any deployment shipped it
    repo.tag("v1.1.0")
    ev = read_git(repo.path)
    assert ev.incidents.empty and set(kinds(ev).values()) == {"planned"}


def test_revert_not_yet_deployed_leaves_open_incident(tmp_path):
    repo = GitRepo(tmp_path)
    repo.commit("feat: base", "2024-03-01T00:00:00Z")
    repo.tag("v1.0.0")
    c2 = repo.commit("feat: oops", "2024-03-02T00:00:00Z")
    repo.tag("v1.1.0")
    repo.revert(c2, "2024-03-02T05:00:00Z")  # committed, not tagged yet
    ev = read_git(repo.path)
    inc = ev.incidents.iloc[0]
    assert inc["deployment_id"] == "v1.1.0" and pd.isna(inc["resolved_at"])
    assert inc["opened_at"] == ts("2024-03-02T05:00:00Z")


def test_hotfix_tag_and_fix_only_followup(tmp_path):
    """v2.1.0 ships c2 and c3; a hotfix tag, then a revert of c3 later marks v2.1.0 failed.

    Timeline (UTC): v2.0.0 Apr 1 10:00, v2.1.0 Apr 2 10:00 (c2 feat, c3 feat),
    v2.1.1 Apr 2 15:00 (only 'fix:' commits, 5 h after the failed v2.1.0 -> unplanned recovery),
    v2.1.2-hotfix Apr 4 10:00 (hotfix tag -> unplanned), v2.2.0 Apr 6 10:00 (ships the revert of c3 -> v2.1.0
    failed by incident, v2.2.0 unplanned).
    """
    repo = GitRepo(tmp_path)
    repo.commit("feat: one", "2024-04-01T10:00:00Z")
    repo.tag("v2.0.0")
    repo.commit("feat: two", "2024-04-02T09:00:00Z")
    c3 = repo.commit("feat: three", "2024-04-02T10:00:00Z")
    repo.tag("v2.1.0")
    f1 = repo.commit("fix: edge case of two", "2024-04-02T14:00:00Z")
    f2 = repo.commit("fix(ui): and its label", "2024-04-02T15:00:00Z")
    repo.tag("v2.1.1")
    h = repo.commit("chore: bump", "2024-04-04T10:00:00Z")
    repo.tag("v2.1.2-hotfix")
    repo.revert(c3, "2024-04-05T10:00:00Z")
    repo.commit("feat: four", "2024-04-06T10:00:00Z")
    repo.tag("v2.2.0")
    ev = read_git(repo.path)
    assert change_sets(ev)["v2.1.1"] == {f1, f2}
    assert change_sets(ev)["v2.1.2-hotfix"] == {h}
    assert kinds(ev) == {"v2.0.0": "planned", "v2.1.0": "planned", "v2.1.1": "unplanned",
                         "v2.1.2-hotfix": "unplanned", "v2.2.0": "unplanned"}  # fmt: skip
    assert ev.incidents["deployment_id"].tolist() == ["v2.1.0"]
    # with a 4 h window the fix-only deployment (5 h after) stays planned
    ev4 = read_git(repo.path, GitOptions(fix_window_hours=4))
    assert kinds(ev4)["v2.1.1"] == "planned"
    # without the hotfix signal the hotfix tag is an ordinary (planned) deployment
    assert kinds(read_git(repo.path, GitOptions(hotfix_signal=False)))["v2.1.2-hotfix"] == "planned"


def test_hotfix_branch_merge(tmp_path):
    repo = GitRepo(tmp_path)
    repo.commit("feat: one", "2024-04-01T10:00:00Z")
    repo.tag("v3.0.0")
    repo.checkout("hotfix/login", new=True)
    fix = repo.commit("repair login", "2024-04-01T12:00:00Z", file="login.txt")
    repo.checkout("main")
    repo.merge("hotfix/login", "2024-04-01T13:00:00Z")
    repo.tag("v3.0.1")
    ev = read_git(repo.path)
    assert change_sets(ev)["v3.0.1"] == {fix}
    assert kinds(ev) == {"v3.0.0": "planned", "v3.0.1": "unplanned"}


def test_rollback(tmp_path):
    """v1.0.1 re-points production at c1 (an ancestor of v1.1.0's commit): a rollback of v1.1.0."""
    repo = GitRepo(tmp_path)
    c1 = repo.commit("feat: a", "2024-05-01T00:00:00Z")
    repo.tag("v1.0.0")  # May 1 00:00
    c2 = repo.commit("feat: b", "2024-05-02T00:00:00Z")
    repo.tag("v1.1.0")  # May 2 00:00
    repo.tag("v1.0.1", c1, annotated_at="2024-05-02T06:00:00Z")  # rollback, 6 h later
    c3 = repo.commit("fix: b properly", "2024-05-03T00:00:00Z")
    repo.tag("v1.1.1")  # May 3 00:00
    ev = read_git(repo.path)
    rb = row(ev.deployments, "deployment_id", "v1.0.1")
    assert rb["rollback_of"] == "v1.1.0" and rb["kind"] == "unplanned"
    assert change_sets(ev) == {"v1.0.0": {c1}, "v1.1.0": {c2}, "v1.0.1": set(), "v1.1.1": {c3}}
    assert pd.isna(row(ev.deployments, "deployment_id", "v1.1.1")["rollback_of"])
    assert pd.isna(read_git(repo.path, GitOptions(rollback_signal=False)).deployments["rollback_of"]).all()
    r = dora.compute(ev, dora.Window.parse("2024-05-01", "2024-05-04"), dora.MetricsConfig())
    # failed: v1.1.0 (rolled back) -> 1 of 4; recovered by v1.0.1: 00:00 -> 06:00 = 6 h
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 4)
    assert r.recovery_time["value"] == pytest.approx(6.0)
    assert r.rework_rate["unplanned"] == 1


def test_breaking_change_footer(tmp_path):
    repo = GitRepo(tmp_path)
    a = repo.commit("refactor: api\n\nBREAKING CHANGE: the old endpoint is gone", "2024-05-01T00:00:00Z")
    b = repo.commit("feat!: drop v1", "2024-05-01T01:00:00Z")
    c = repo.commit("Fix: capitalised type", "2024-05-01T02:00:00Z")
    repo.tag("v1.0.0")
    types = read_git(repo.path).changes.set_index("change_id")["change_type"]
    assert (types[a], types[b], types[c]) == ("refactor!", "feat!", "fix")
