"""GitHub pulls against a local GitHub API (tests/ghfake.py), with every event checked by hand.

The hand scenario (``ghfake.hand_scenario``; hours after 2026-06-01T09:00Z):

- D1000 production, statuses queued 0 / in_progress 0.1 / success 0.2 / inactive 30: the first deployment
  (success although its latest status is ``inactive``; started at the in_progress status);
- PR 1 (squash; commits authored -1 h and +1 h with -07:00 offsets; reviews: the author at 2.5 h, ignored, then
  bob at 3 h; merged 5 h), PR 2 (merge commit; a bot review at 6.2 h ignored, carol at 7 h; merged 8 h);
- D1001 production success at 10.5 h: ships PR 1's squash commit and PR 2's two branch commits (its merge commit
  is walked, not a change);
- PR 3 by dependabot (not read; its squash commit is still a change, without PR fields), a direct push
  ``fix: typo`` at 12 h; D1002 production fails at 13.3 h (ships nothing); D1003 staging at 13.6 h (first);
- PR 4 rebase-merged at 14 h (two copies with new SHAs, matched to the PR by author date and message);
  D1004 production success at 15.5 h ships the bot commit, the typo fix and the two rebased commits;
- PR 5 reverts PR 2 (branch ``revert-2-...``), merged 16.5 h, shipped by D1005 at 17.2 h: incident
  ``revert:5`` charged to D1001, opened max(16 h, 10.5 h) = 16 h, resolved 17.2 h; D1004 (planned) lies
  between, so D1005 stays planned;
- D1006 re-deploys D1004's commit at 18.1 h: compare says ``behind``, a rollback of D1005 (unplanned);
- a transient ``pr-9-preview`` deployment is ignored; PR 6 merged at 21 h is not deployed yet;
- issues: #7 ``Root cause: <sha12 of PR 2's fix commit>`` -> D1001 (17.5 h -> 19 h); #8 closed as not
  planned (not an incident); #9 is a pull request (not an incident); #10 open, ``deployment: 1005`` -> D1005.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from ghfake import BASE_TIME, PLANTED_TOKEN, FakeGitHub, FakeRepo, Fault, h, hand_scenario

from hivepulse.project import RepositorySource
from hivepulse.pull.run import PullOptions, pull
from hivepulse.sources.github.client import ClientOptions
from hivepulse.store import pr_stage_summary, pr_stages, read_events

REPO = "hive-team/hivebox"


def at(hours: float) -> pd.Timestamp:
    return pd.Timestamp(BASE_TIME + timedelta(hours=hours))


def options(gh: FakeGitHub, **kw: object) -> PullOptions:
    return PullOptions(github=ClientOptions(api_url=gh.url, token=PLANTED_TOKEN, backoff_base_s=0.01,
                                            timeout_s=5), **kw)  # type: ignore[arg-type]


def dep(n: int) -> str:
    return f"{REPO}:deployment:{n}"


@pytest.fixture()
def pulled(tmp_path):
    repo, refs = hand_scenario()
    with FakeGitHub(repo) as gh:
        summary = pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=options(gh))
        yield tmp_path / "s.db", refs, gh, summary


def test_deployments_follow_the_status_rules(pulled):
    store, refs, _, _ = pulled
    d = read_events(store).deployments.set_index("deployment_id")
    assert sorted(d.index) == [dep(n) for n in (1000, 1001, 1002, 1003, 1004, 1005, 1006)]
    assert d.loc[dep(1000), "status"] == "success" and d.loc[dep(1000), "finished_at"] == at(0.2)
    assert d.loc[dep(1000), "started_at"] == at(0.1) and bool(d.loc[dep(1000), "first_deployment"])
    assert d.loc[dep(1001), "finished_at"] == at(0.5 + 10) and d.loc[dep(1001), "started_at"] == at(10)
    assert d.loc[dep(1002), "status"] == "failure" and d.loc[dep(1002), "finished_at"] == at(13.3)
    assert d.loc[dep(1003), "environment"] == "staging" and bool(d.loc[dep(1003), "first_deployment"])
    assert d.loc[dep(1006), "rollback_of"] == dep(1005) and d.loc[dep(1006), "kind"] == "unplanned"
    assert d.loc[dep(1006), "commit_sha"] == refs["d4"].sha
    assert list(d["kind"]).count("unplanned") == 1
    assert not d.loc[[dep(n) for n in (1001, 1002, 1004, 1005, 1006)], "first_deployment"].any()


def test_changes_come_from_compare_and_carry_their_pull_request(pulled):
    store, refs, _, _ = pulled
    ch = read_events(store).changes
    by_dep = ch.groupby(ch["deployment_id"].fillna("-"))["change_id"].count().to_dict()
    assert by_dep == {dep(1001): 3, dep(1004): 4, dep(1005): 1, "-": 1}
    p1, p2 = refs["p1"], refs["p2"]
    rows = ch.set_index("change_id")
    squash1 = rows.loc[f"{REPO}:{p1.merge_commit_sha}"]
    assert squash1["pr_number"] == 1 and squash1["pr_opened_at"] == at(2) and squash1["first_review_at"] == at(3)
    assert squash1["merged_at"] == at(5) and squash1["committed_at"] == at(5)
    branch2 = rows.loc[[f"{REPO}:{c.sha}" for c in p2.commits]]
    assert list(branch2["pr_number"]) == [2, 2] and list(branch2["change_type"]) == ["feat", "fix"]
    assert list(branch2["first_review_at"]) == [at(7), at(7)]  # the bot's review does not count
    assert f"{REPO}:{p2.merge_commit_sha}" not in rows.index  # merge commits are not changes
    rebased = rows[rows["deployment_id"] == dep(1004)]
    assert sorted(rebased["pr_number"].dropna().tolist()) == [4, 4]  # matched by author date + message
    assert sorted(rebased["authored_at"]) == [at(11), at(12), at(12.5), at(13)]
    typo = rows.loc[f"{REPO}:{refs['typo']}"]
    assert pd.isna(typo["pr_number"]) and typo["change_type"] == "fix"
    undeployed = ch[ch["deployment_id"].isna()].iloc[0]
    assert undeployed["pr_number"] == 6 and undeployed["committed_at"] == at(21)


def test_incidents_issues_and_reverts(pulled):
    store, _, _, summary = pulled
    inc = read_events(store).incidents.set_index("incident_id")
    assert sorted(inc.index) == [f"{REPO}:issue:10", f"{REPO}:issue:7", f"{REPO}:revert:5"]
    assert inc.loc[f"{REPO}:revert:5", "deployment_id"] == dep(1001)
    assert inc.loc[f"{REPO}:revert:5", "opened_at"] == at(16) and inc.loc[f"{REPO}:revert:5", "resolved_at"] == at(17.2)
    assert inc.loc[f"{REPO}:issue:7", "deployment_id"] == dep(1001)
    assert (inc.loc[f"{REPO}:issue:7", "opened_at"], inc.loc[f"{REPO}:issue:7", "resolved_at"]) == (at(17.5), at(19))
    assert inc.loc[f"{REPO}:issue:10", "deployment_id"] == dep(1005) and pd.isna(inc.loc[f"{REPO}:issue:10", "resolved_at"])
    assert any("closed as not planned" in n for n in summary.notes)
    assert any("opened by bots" in n for n in summary.notes)


def test_pull_request_stages(pulled):
    store, _, _, _ = pulled
    st = pr_stages(store).set_index("number")
    assert list(st.index) == [1, 2, 4, 5, 6]  # the bot's pull request is not read
    assert st.loc[1, ["coding_hours", "pickup_hours", "review_hours", "deploy_hours"]].tolist() == [3, 1, 2, 5.5]
    assert st.loc[2, ["coding_hours", "pickup_hours", "review_hours", "deploy_hours"]].tolist() == [2, 1, 1, 2.5]
    assert st.loc[4, ["coding_hours", "pickup_hours", "review_hours", "deploy_hours"]].tolist() == pytest.approx(
        [0.7, 0.4, 0.4, 1.5])
    assert pd.isna(st.loc[5, "pickup_hours"]) and st.loc[5, "deploy_hours"] == pytest.approx(0.7)
    assert pd.isna(st.loc[6, "deploy_hours"]) and pd.isna(st.loc[6, "deployed_at"])
    assert st.loc[1, "lead_time_hours"] == 11.5
    summary = pr_stage_summary(st.reset_index()).set_index("stage")
    assert summary.loc["coding", "n"] == 5 and summary.loc["pickup", "n"] == 3
    assert summary.loc["deploy", "median_hours"] == pytest.approx(2.0)  # of 5.5, 2.5, 1.5, 0.7
    assert summary.loc["review", "share"] == pytest.approx(3.4 / (5.7 + 2.4 + 3.4 + 9.5))
    window = pr_stages(store, since="2026-06-01T20:00:00Z", until="2026-06-02T02:00:00Z")
    assert list(window["number"]) == [4, 5]


def test_second_pull_of_unchanged_data_is_only_304s(pulled):
    store, _, gh, first = pulled
    n = len(gh.requests)
    summary = pull(store, repositories=[RepositorySource(REPO)], options=options(gh))
    second = gh.requests[n:]
    assert second and all(status == 304 for _, status in second), second
    assert summary.calls.not_modified == len(second) == summary.calls.calls
    assert (summary.counts.new, summary.counts.updated, summary.counts.removed) == (0, 0, 0)
    assert summary.counts.unchanged == first.counts.new == 19
    assert gh.remaining == 5000 - first.calls.calls  # 304 answers cost no quota


def test_new_data_fetches_only_what_changed(tmp_path):
    repo, refs = hand_scenario()
    with FakeGitHub(repo) as gh:
        opts = options(gh)
        pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
        repo.add_pr("Faster readings", h(22), h(23), commits=[("perf: faster", h(21.5))], reviews=[(2, h(22.5), "approved")])
        repo.deploy("production", h(24), [("success", 0.25)])
        n = len(gh.requests)
        summary = pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
        paths = [p.split("?")[0].replace(f"/repos/{REPO}", "") for p, _ in gh.requests[n:]]
    assert sorted(paths) == sorted(["", "/deployments", "/deployments/1008/statuses", "/pulls", "/issues/11/timeline",
                                    "/issues", f"/compare/{refs['d4'].sha}...{repo.head}"]), paths
    ev = read_events(tmp_path / "s.db")
    new = ev.changes[ev.changes["deployment_id"] == dep(1008)]
    # D1008 ships PR 6 (undeployed until now) and PR 11; D1006 (the rollback) is the base of the comparison
    assert sorted(new["pr_number"].tolist()) == [6, 11]
    assert summary.counts.new == 2 and summary.counts.updated == 1  # PR 6's change is now deployed
    assert summary.counts.removed == 0


def test_a_pending_deployment_is_repolled_until_it_finishes(tmp_path):
    repo = FakeRepo()
    d = repo.deploy("production", h(0), [("queued", 0), ("in_progress", 0.1)])
    with FakeGitHub(repo) as gh:
        opts = options(gh, now_ns=int(h(1).timestamp() * 1e9))
        pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
        assert read_events(tmp_path / "s.db").deployments.empty
        n = len(gh.requests)
        pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
        assert (f"/repos/{REPO}/deployments/{d.id}/statuses?per_page=100", 304) in gh.requests[n:]
        d.statuses.append(("success", h(0.5)))
        summary = pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
    deps = read_events(tmp_path / "s.db").deployments
    assert deps["finished_at"].tolist() == [at(0.5)] and summary.counts.new == 1


def test_releases_as_deployments(tmp_path):
    repo = FakeRepo()
    repo.release("v1.0.0", h(1))
    p = repo.add_pr("Add version", h(2), h(3))
    repo.release("v1.1.0-rc1", h(3.5), prerelease=True)
    repo.release("v1.1.0", h(4))
    repo.release("v1.2.0", h(6), draft=True)
    with FakeGitHub(repo) as gh:
        cfg = RepositorySource(REPO, "releases")
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        n = len(gh.requests)
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        assert all(s == 304 for _, s in gh.requests[n:])
    ev = read_events(tmp_path / "s.db")
    d = ev.deployments.set_index("deployment_id")
    assert list(d.index) == [f"{REPO}:release:v1.0.0", f"{REPO}:release:v1.1.0"]  # no pre-release, no draft
    assert d.loc[f"{REPO}:release:v1.1.0", "finished_at"] == at(4)  # published_at
    assert ev.changes.set_index("change_id").loc[f"{REPO}:{p.merge_commit_sha}", "deployment_id"] == \
        f"{REPO}:release:v1.1.0"


def test_workflow_runs_as_deployments_with_attempts_and_created_ranges(tmp_path):
    repo = FakeRepo()
    repo.run(h(1), "success")
    p = repo.add_pr("Add cache", h(2), h(3))
    repo.run(h(4), "success", earlier=["failure"])  # attempt 1 failed, attempt 2 succeeded
    repo.run(h(5), "cancelled")
    repo.run(h(6), "success", branch="feature/x")
    repo.run(h(7), None, status="in_progress")
    with FakeGitHub(repo) as gh:
        cfg = RepositorySource(REPO, "workflow", workflow="deploy.yml", branch="main")
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        runs_calls = [p for p, _ in gh.requests if "/actions/" in p]
        assert any("created=%3E%3D2008-01-01" in p for p in runs_calls)
        n = len(gh.requests)
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        second = gh.requests[n:]
        assert all(s == 304 for _, s in second), second
    d = read_events(tmp_path / "s.db").deployments.set_index("deployment_id")
    assert list(d.index) == [f"{REPO}:run:9000", f"{REPO}:run:9001", f"{REPO}:run:9001.2"]
    assert d.loc[f"{REPO}:run:9001", "status"] == "failure" and d.loc[f"{REPO}:run:9001.2", "status"] == "success"
    assert d.loc[f"{REPO}:run:9001.2", "started_at"] == at(4) + pd.Timedelta(minutes=10)
    assert d.loc[f"{REPO}:run:9001.2", "finished_at"] == at(4) + pd.Timedelta(minutes=14)
    ch = read_events(tmp_path / "s.db").changes.set_index("change_id")
    assert ch.loc[f"{REPO}:{p.merge_commit_sha}", "deployment_id"] == f"{REPO}:run:9001.2"


def test_more_than_1000_runs_are_split_by_created_ranges(tmp_path):
    repo = FakeRepo()
    for i in range(1150):
        repo.run(h(i * 0.1), "success")
    with FakeGitHub(repo) as gh:
        cfg = RepositorySource(REPO, "workflow", workflow="deploy.yml")
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        ranges = {p.split("created=")[1].split("&")[0] for p, _ in gh.requests if "created=" in p}
    assert len(ranges) >= 3  # the whole history, then at least two slices of at most 1,000 runs
    assert len(read_events(tmp_path / "s.db").deployments) == 1150


def test_rate_limits_and_faults_are_waited_out(tmp_path):
    repo, _ = hand_scenario()
    with FakeGitHub(repo) as gh:
        gh.faults = [Fault("/deployments\\?", "429"), Fault("/pulls", "403-retry"),
                     Fault("/statuses", "502", times=2), Fault("/issues\\?", "drop"), Fault("timeline", "slow")]
        opts = PullOptions(github=ClientOptions(api_url=gh.url, token=PLANTED_TOKEN, backoff_base_s=0.01,
                                                timeout_s=0.5))
        summary = pull(tmp_path / "s.db", repositories=[RepositorySource(REPO)], options=opts)
    assert summary.calls.rate_limit_waits == 2 and summary.calls.retries == 4
    assert summary.counts.new == 19


def test_local_clone_replaces_the_compare_api(tmp_path):
    repo = FakeRepo()
    repo.deploy("production", h(0), [("success", 0.1)])
    pr = repo.add_pr("Add endpoint", h(1), h(2), commits=[("feat: endpoint", h(0.5))])
    repo.deploy("production", h(3), [("success", 0.1)])
    clone = tmp_path / "clone"
    _fast_import(repo, clone)
    with FakeGitHub(repo) as gh:
        cfg = RepositorySource(REPO, git=str(clone))
        pull(tmp_path / "s.db", repositories=[cfg], options=options(gh))
        assert gh.count("/compare/") == 0
    ch = read_events(tmp_path / "s.db").changes
    assert ch["change_id"].tolist() == [f"{REPO}:{pr.merge_commit_sha}"]
    assert ch["pr_number"].tolist() == [1] and ch["committed_at"].tolist() == [at(2)]


def _fast_import(repo: FakeRepo, path) -> None:
    """A real clone of the fake repository's main line, with the same SHAs (commits written with git
    fast-import cannot keep foreign SHAs, so the fake's SHAs are replaced by the clone's in place)."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(path)], check=True)
    marks: dict[str, str] = {}
    lines: list[str] = []
    for i, sha in enumerate(repo.main, 1):
        c = repo.commits[sha]
        msg = c.message.encode()
        lines += ["commit refs/heads/main", f"mark :{i}",
                  f"author A <a@x> {int(c.authored.timestamp())} +0000",
                  f"committer C <c@x> {int(c.committed.timestamp())} +0000", f"data {len(msg)}", c.message]
        if i > 1:
            lines.append(f"from :{i - 1}")
        lines.append("")
        marks[sha] = f":{i}"
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet", f"--export-marks={path}/marks"],
                   input="\n".join(lines).encode(), check=True)
    mapping = {}
    for line in (path / "marks").read_text().splitlines():
        mark, real = line.split()
        mapping[mark] = real
    rename = {old: mapping[m] for old, m in marks.items()}
    for d in repo.deployments:
        d.sha = rename.get(d.sha, d.sha)
    for p in repo.pulls:
        p.merge_commit_sha = rename.get(p.merge_commit_sha or "", p.merge_commit_sha)
    repo.main = [rename[s] for s in repo.main]
    repo.commits = {rename.get(k, k): v for k, v in repo.commits.items()}
    repo.introduced = {rename.get(k, k): [rename.get(x, x) for x in v] for k, v in repo.introduced.items()}
