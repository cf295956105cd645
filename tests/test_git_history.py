"""Git source: deployments and change sets on real, scripted repositories (expected values written out)."""

from __future__ import annotations

import pandas as pd
import pytest
from gitrepo import GitRepo, change_sets, row, undeployed

from hivepulse.metrics import dora
from hivepulse.sources.git import GitOptions, read_git


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    """c1..c4 on main with +05:30 / -08:00 offsets; v1.0.0 annotated, v1.1.0 lightweight."""
    repo = GitRepo(tmp_path_factory.mktemp("linear"))
    c = {}
    c[1] = repo.commit("feat: a", "2024-03-01T10:00:00+05:30")  # = 04:30Z
    c[2] = repo.commit("fix(ui): b", "2024-03-01T09:00:00-08:00")  # = 17:00Z
    repo.tag("v1.0.0", annotated_at="2024-03-02T05:30:00+05:30")  # tagger date = 2024-03-02T00:00Z
    c[3] = repo.commit("feat(api)!: c", "2024-03-03T12:00:00+00:00")
    c[4] = repo.commit("chore: d", "2024-03-04T06:00:00+05:30")  # = 00:30Z
    repo.tag("v1.1.0")  # lightweight: committer date of c4 = 2024-03-04T00:30Z
    repo.tag("v1.2.0-rc1")  # pre-release: not a deployment by default
    repo.tag("nightly", c[1])  # not a version: ignored
    return repo, c


def test_linear_deployments_and_times(linear):
    repo, c = linear
    ev = read_git(repo.path)
    deps = ev.deployments.set_index("deployment_id")
    assert list(deps.index) == ["v1.0.0", "v1.1.0"]
    assert deps.loc["v1.0.0", "finished_at"] == ts("2024-03-02T00:00:00Z")  # tagger date, in UTC
    assert deps.loc["v1.1.0", "finished_at"] == ts("2024-03-04T00:30:00Z")  # commit date of c4, in UTC
    assert deps.loc["v1.0.0", "commit_sha"] == c[2] and deps.loc["v1.1.0", "commit_sha"] == c[4]
    assert deps["environment"].tolist() == ["production", "production"]
    assert deps["status"].tolist() == ["success", "success"]
    assert deps["first_deployment"].tolist() == [True, False]
    assert deps["kind"].tolist() == ["planned", "planned"]
    assert str(ev.deployments["finished_at"].dtype) == "datetime64[ns, UTC]"


def test_linear_changes_types_and_lead_times(linear):
    repo, c = linear
    ev = read_git(repo.path)
    assert change_sets(ev) == {"v1.0.0": {c[1], c[2]}, "v1.1.0": {c[3], c[4]}}
    ch = ev.changes.set_index("change_id")
    assert ch.loc[c[1], "committed_at"] == ts("2024-03-01T04:30:00Z")  # 10:00+05:30
    assert ch.loc[c[2], "committed_at"] == ts("2024-03-01T17:00:00Z")  # 09:00-08:00
    assert [ch.loc[c[k], "change_type"] for k in (1, 2, 3, 4)] == ["feat", "fix", "feat!", "chore"]
    # lead times of v1.1.0 (finished 2024-03-04T00:30Z): c3 12:00Z Mar 3 -> 12.5 h; c4 -> 0 h
    dep_end = ev.deployments.set_index("deployment_id").loc["v1.1.0", "finished_at"]
    hours = {k: (dep_end - ch.loc[c[k], "committed_at"]) / pd.Timedelta(hours=1) for k in (3, 4)}
    assert hours == {3: 12.5, 4: 0.0}


def test_linear_metrics_through_engine(linear):
    repo, _ = linear
    ev = read_git(repo.path)
    report = dora.compute(ev, dora.Window.parse("2024-03-01", "2024-03-08"), dora.MetricsConfig())
    lt = report.lead_time
    # first deployment v1.0.0 excluded; v1.1.0: [0, 12.5] -> n 2, median 6.25 h
    assert lt["n"] == 2 and lt["value"] == pytest.approx(6.25)
    assert report.deployment_frequency["deployments"] == 2


def test_author_date_option(tmp_path):
    repo = GitRepo(tmp_path)
    repo.commit("feat: a", "2024-01-01T00:00:00Z")
    # amend only the committer date: author 2024-01-01, committer 2024-01-05
    repo.git("commit", "--amend", "--no-edit", "-q", when="2024-01-05T00:00:00Z")
    repo.git(
        "commit", "--amend", "--no-edit", "-q", "--date=2024-01-01T00:00:00Z", when="2024-01-05T00:00:00Z"
    )
    repo.tag("v1.0.0")
    sha = repo.rev()
    by_commit = read_git(repo.path).changes.set_index("change_id")
    by_author = read_git(repo.path, GitOptions(author_date=True)).changes.set_index("change_id")
    assert by_commit.loc[sha, "committed_at"] == ts("2024-01-05T00:00:00Z")
    assert by_author.loc[sha, "committed_at"] == ts("2024-01-01T00:00:00Z")
    assert by_commit.loc[sha, "authored_at"] == ts("2024-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def branchy(tmp_path_factory):
    """Merges, a squash merge, an unmerged branch and a tag on a maintenance branch."""
    repo = GitRepo(tmp_path_factory.mktemp("branchy"))
    c = {}
    c["m1"] = repo.commit("feat: base", "2024-01-01T00:00:00Z")
    repo.tag("v1.0.0")  # 2024-01-01T00:00Z
    repo.checkout("feature", new=True)
    c["f1"] = repo.commit("feat: f1", "2024-01-02T00:00:00Z", file="f.txt")
    c["f2"] = repo.commit("test: f2", "2024-01-03T00:00:00Z", file="f.txt")
    repo.checkout("main")
    c["m2"] = repo.commit("docs: m2", "2024-01-02T12:00:00Z")
    c["M"] = repo.merge("feature", "2024-01-04T00:00:00Z")
    repo.tag("v1.1.0")  # 2024-01-04T00:00Z
    repo.checkout("feat2", new=True)
    c["g1"] = repo.commit("wip", "2024-01-05T00:00:00Z", file="g.txt")
    c["g2"] = repo.commit("wip 2", "2024-01-05T06:00:00Z", file="g.txt")
    repo.checkout("main")
    c["S"] = repo.squash_merge("feat2", "2024-01-06T00:00:00Z", "feat: squashed feature (#42)")
    repo.tag("v1.2.0")  # 2024-01-06T00:00Z
    repo.checkout("maint-1.0", new=True, start="v1.0.0")
    c["h1"] = repo.commit("fix: backport", "2024-01-07T00:00:00Z", file="m.txt")
    repo.tag("v1.0.1")  # on a side branch, 2024-01-07T00:00Z
    repo.checkout("main")
    return repo, c


def test_merges_squash_and_side_branch_tags(branchy):
    repo, c = branchy
    ev = read_git(repo.path)
    assert ev.deployments["deployment_id"].tolist() == ["v1.0.0", "v1.0.1", "v1.1.0", "v1.2.0"]
    assert change_sets(ev) == {
        "v1.0.0": {c["m1"]},
        "v1.1.0": {c["f1"], c["f2"], c["m2"]},  # the merge commit M is walked, not counted
        "v1.2.0": {c["S"]},  # the squash commit is the change
        "v1.0.1": {c["h1"]},  # maintenance tag: only its own new commit
    }
    assert undeployed(ev) == {c["g1"], c["g2"]}  # the squashed branch's own commits never shipped
    ch = ev.changes.set_index("change_id")
    assert ch.loc[c["S"], "pr_number"] == 42
    assert c["M"] not in ch.index
    d = row(ev.deployments, "deployment_id", "v1.0.1")
    assert pd.isna(d["rollback_of"]) and d["kind"] == "planned"  # a side-branch tag is not a rollback
    # lead time v1.1.0 (2024-01-04T00:00Z): f1 48 h, m2 36 h, f2 24 h
    end = row(ev.deployments, "deployment_id", "v1.1.0")["finished_at"]
    got = sorted((end - ch.loc[c[k], "committed_at"]) / pd.Timedelta(hours=1) for k in ("f1", "f2", "m2"))
    assert got == [24.0, 36.0, 48.0]


def test_change_sets_equal_rev_list(branchy):
    """Each deployment's changes == git rev-list --no-merges this ^(all earlier deployments)."""
    repo, _ = branchy
    ev = read_git(repo.path)
    deps = ev.deployments.sort_values("finished_at")["deployment_id"].tolist()
    sets = change_sets(ev)
    for i, dep in enumerate(deps):
        excl = [f"^{d}" for d in deps[:i]]
        expected = set(repo.git("rev-list", "--no-merges", dep, *excl).split())
        assert sets[dep] == expected, dep


def test_include_merges(branchy):
    repo, c = branchy
    ev = read_git(repo.path, GitOptions(include_merges=True))
    assert change_sets(ev)["v1.1.0"] == {c["f1"], c["f2"], c["m2"], c["M"]}


def test_deploy_branch_first_parent(branchy):
    repo, c = branchy
    ev = read_git(repo.path, GitOptions(deploy_branches=("main",)))
    # first-parent chain of main: m1, m2, M, S -> four deployments at their committer dates
    ids = ev.deployments["deployment_id"].tolist()
    assert ids == [f"main@{c[k][:12]}" for k in ("m1", "m2", "M", "S")]
    sets = change_sets(ev)
    assert sets[f"main@{c['M'][:12]}"] == {c["f1"], c["f2"]}  # the merge ships the branch
    assert sets[f"main@{c['m2'][:12]}"] == {c["m2"]}
    assert ev.deployments["finished_at"].tolist() == [
        ts(t) for t in ("2024-01-01T00:00Z", "2024-01-02T12:00Z", "2024-01-04T00:00Z", "2024-01-06T00:00Z")
    ]
    assert ev.deployments["first_deployment"].tolist() == [True, False, False, False]


def test_environments_from_tag_pattern(tmp_path):
    repo = GitRepo(tmp_path)
    a = repo.commit("feat: a", "2024-02-01T00:00:00Z")
    repo.tag("deploy/staging/1", annotated_at="2024-02-01T01:00:00Z")
    b = repo.commit("feat: b", "2024-02-02T00:00:00Z")
    repo.tag("deploy/staging/2", annotated_at="2024-02-02T01:00:00Z")
    repo.tag("deploy/production/1", annotated_at="2024-02-03T00:00:00Z")
    ev = read_git(repo.path, GitOptions(tag_patterns=("deploy/{env}/*",)))
    envs = dict(zip(ev.deployments["deployment_id"], ev.deployments["environment"], strict=True))
    assert envs == {"deploy/production/1": "production", "deploy/staging/1": "staging",
                    "deploy/staging/2": "staging"}  # fmt: skip
    # each environment has its own history: a and b ship to production once, to staging once each
    assert change_sets(ev) == {
        "deploy/production/1": {a, b},
        "deploy/staging/1": {f"{a}@staging"},
        "deploy/staging/2": {f"{b}@staging"},
    }
    first = dict(zip(ev.deployments["deployment_id"], ev.deployments["first_deployment"], strict=True))
    assert first == {"deploy/production/1": True, "deploy/staging/1": True, "deploy/staging/2": False}
    # explicit environment suffix and a regex with a named group give the same result
    ev2 = read_git(
        repo.path, GitOptions(tag_patterns=("deploy/staging/*:staging", "deploy/production/*:production"))
    )
    ev3 = read_git(repo.path, GitOptions(tag_regexes=(r"deploy/(?P<env>\w+)/\d+",)))
    for other in (ev2, ev3):
        assert change_sets(other) == change_sets(ev)


def test_tag_reachable_from_several_counts_once(tmp_path):
    """Two tags on the same commit and a later one: every commit belongs to exactly one deployment."""
    repo = GitRepo(tmp_path)
    a = repo.commit("feat: a", "2024-02-01T00:00:00Z")
    repo.tag("v1.0.0")
    repo.tag("1.0.0")  # same commit, same time: one deployment, named by the first id ("1" < "v")
    b = repo.commit("feat: b", "2024-02-02T00:00:00Z")
    repo.tag("v1.1.0")
    ev = read_git(repo.path)
    assert change_sets(ev) == {"1.0.0": {a}, "v1.1.0": {b}}
    assert ev.changes["change_id"].is_unique
