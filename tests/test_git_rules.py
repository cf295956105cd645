"""Git source: rules fixed after review, each in a real repository with hand-computed expectations.

1. a fix-only deployment after a failed *attempt* is a planned retry (not rework blaming the deployment before);
2. a revert shipped after an unrelated planned deployment resolves the incident without making that
   deployment failed;
3. environments inferred from literal path segments of tag patterns, tag regexes and deploy-branch names;
4. several tags on one commit, consecutive in an environment, are one deployment.
"""

from __future__ import annotations

import pandas as pd
import pytest
from gitrepo import GitRepo, change_sets, row

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.sources.git import GitOptions, read_git
from hivepulse.sources.git.options import regex_literal_segments as _regex_literal_segments


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def kinds(ev) -> dict[str, str]:
    return dict(zip(ev.deployments["deployment_id"], ev.deployments["kind"], strict=True))


def envs(ev) -> dict[str, str]:
    return dict(zip(ev.deployments["deployment_id"], ev.deployments["environment"], strict=True))


def write_file(path, rows: list[tuple[str, str, str, str, str]]) -> str:
    text = "deployment_id,finished_at,environment,commit_sha,status\n" + "".join(
        ",".join(r) + "\n" for r in rows
    )
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------ 1. fix-only retry after a failed attempt


def test_fix_only_retry_after_failed_attempt_is_planned(tmp_path):
    """A success (day 1), P status=failure (day 2 10:00), D success (12:00) shipping only fix: commits.

    P claims nothing, so D ships c2 and c3 (both fix:). P is a failed attempt, not a deployment found failed
    later: D is a planned retry. Before this rule D was unplanned and the engine then blamed A (unplanned_fix):
    CFR 2/3, rework 1/2.
    """
    repo = GitRepo(tmp_path / "r")
    c1 = repo.commit("feat: one", "2024-06-01T09:00:00Z")
    c2 = repo.commit("fix: config key", "2024-06-02T09:00:00Z")
    c3 = repo.commit("fix(db): migration order", "2024-06-02T11:00:00Z")
    deployments = write_file(tmp_path / "deps.csv", [
        ("A", "2024-06-01T10:00:00Z", "production", c1, "success"),
        ("P", "2024-06-02T10:00:00Z", "production", c2, "failure"),
        ("D", "2024-06-02T12:00:00Z", "production", c3, "success"),
    ])  # fmt: skip
    ev = read_git(repo.path, GitOptions(deployments_file=deployments))
    assert change_sets(ev) == {"A": {c1}, "P": set(), "D": {c2, c3}}
    assert kinds(ev) == {"A": "planned", "P": "planned", "D": "planned"}
    r = compute(ev, Window.parse("2024-06-01", "2024-06-03"), MetricsConfig())
    # CFR denominator: A, P, D (any status) = 3; failed: P (status) only -> 1/3
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 3)
    assert r.change_fail_rate["by_reason"]["unplanned_fix"] == 0
    # rework: counted (successful) A and D, none unplanned -> 0/2
    assert (r.rework_rate["unplanned"], r.rework_rate["deployments"]) == (0, 2)
    # recovery of P: next good deployment D, 10:00 -> 12:00 = 2 h
    assert r.recovery_time["n"] == 1 and r.recovery_time["value"] == pytest.approx(2.0)


def test_fix_only_after_attempt_on_a_deployment_found_failed_is_rework(tmp_path):
    """A (day 1), B ships feat c2 (day 2 08:00), P fails (09:00), D ships fixes c3+c4 (11:00), E ships the
    revert of c2 (day 3 10:00).

    B is found failed (the revert incident). The attempt P changed nothing in production, so D follows B:
    fix-only 3 h after a deployment found failed -> unplanned. E reverts B's commit and no planned deployment
    lies between B and E (D is unplanned) -> unplanned.
    """
    repo = GitRepo(tmp_path / "r")
    c1 = repo.commit("feat: one", "2024-06-01T09:00:00Z")
    c2 = repo.commit("feat: risky", "2024-06-02T07:00:00Z")
    c3 = repo.commit("fix: guard risky", "2024-06-02T08:30:00Z")
    c4 = repo.commit("fix: guard risky harder", "2024-06-02T10:30:00Z")
    c5 = repo.revert(c2, "2024-06-03T09:00:00Z")
    deployments = write_file(tmp_path / "deps.csv", [
        ("A", "2024-06-01T10:00:00Z", "production", c1, "success"),
        ("B", "2024-06-02T08:00:00Z", "production", c2, "success"),
        ("P", "2024-06-02T09:00:00Z", "production", c3, "failure"),
        ("D", "2024-06-02T11:00:00Z", "production", c4, "success"),
        ("E", "2024-06-03T10:00:00Z", "production", c5, "success"),
    ])  # fmt: skip
    ev = read_git(repo.path, GitOptions(deployments_file=deployments))
    assert change_sets(ev) == {"A": {c1}, "B": {c2}, "P": set(), "D": {c3, c4}, "E": {c5}}
    assert kinds(ev) == {"A": "planned", "B": "planned", "P": "planned", "D": "unplanned", "E": "unplanned"}
    inc = row(ev.incidents, "deployment_id", "B")
    assert inc["opened_at"] == ts("2024-06-03T09:00:00Z") and inc["resolved_at"] == ts("2024-06-03T10:00:00Z")
    r = compute(ev, Window.parse("2024-06-01", "2024-06-04"), MetricsConfig())
    # failed: B (incident; unplanned_fix by D and E) and P (status) -> 2 of 5
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (2, 5)
    # rework: D and E of the 4 successful deployments
    assert (r.rework_rate["unplanned"], r.rework_rate["deployments"]) == (2, 4)
    # recovery: B 08:00 -> next good D 11:00 = 3 h (earlier than the incident's 26 h); P 09:00 -> D = 2 h
    rec = r.recoveries.set_index("deployment_id")["recovery_hours"]
    assert (rec["B"], rec["P"]) == (pytest.approx(3.0), pytest.approx(2.0))


# ------------------------------------------------------------- 2. revert shipped after an unrelated deployment


@pytest.fixture(scope="module")
def late_revert(tmp_path_factory):
    """v1.0.0 (c1), v1.1.0 (bad c2), v1.2.0 (unrelated c3), v1.2.1 (revert of c2)."""
    repo = GitRepo(tmp_path_factory.mktemp("late"))
    c = {}
    c[1] = repo.commit("feat: base", "2024-07-01T09:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-07-01T10:00:00Z")
    c[2] = repo.commit("feat: bad", "2024-07-02T09:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-07-02T10:00:00Z")
    c[3] = repo.commit("feat: unrelated", "2024-07-03T09:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-07-03T10:00:00Z")
    c[4] = repo.revert(c[2], "2024-07-03T15:00:00Z")
    repo.tag("v1.2.1", annotated_at="2024-07-03T16:00:00Z")
    return repo, c


def test_revert_after_unrelated_planned_deployment(late_revert):
    """v1.1.0 is failed (revert incident); v1.2.1 resolves the incident but is planned, because the latest
    planned deployment before it (v1.2.0) is not the one it fixes: as unplanned it would make the engine mark
    v1.2.0 failed (unplanned_fix), and CFR would read 2/4."""
    repo, c = late_revert
    ev = read_git(repo.path)
    assert change_sets(ev) == {"v1.0.0": {c[1]}, "v1.1.0": {c[2]}, "v1.2.0": {c[3]}, "v1.2.1": {c[4]}}
    assert kinds(ev) == {"v1.0.0": "planned", "v1.1.0": "planned", "v1.2.0": "planned", "v1.2.1": "planned"}
    inc = row(ev.incidents, "deployment_id", "v1.1.0")
    assert inc["incident_id"] == f"revert:{c[4][:12]}"
    assert inc["opened_at"] == ts("2024-07-03T15:00:00Z")  # max(revert commit 15:00, v1.1.0 finish)
    assert inc["resolved_at"] == ts("2024-07-03T16:00:00Z")  # v1.2.1 finished
    r = compute(ev, Window.parse("2024-07-01", "2024-07-04"), MetricsConfig())
    # failed: v1.1.0 (incident) only -> 1/4 (was 2/4 with v1.2.0 as unplanned_fix)
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 4)
    assert r.change_fail_rate["by_reason"] == {"incident": 1, "rollback": 0, "status": 0, "unplanned_fix": 0}
    assert r.rework_rate["unplanned"] == 0
    # recovery (engine rule: the earlier of incident resolution and the next deployment not failed):
    # v1.1.0 finished 07-02 10:00; incident resolved 07-03 16:00 = 30 h; next deployment not failed: v1.2.0
    # 07-03 10:00 = 24 h -> 24 h, although c2 ran until the revert (30 h): see docs/git-source.md
    rec = row(r.recoveries, "deployment_id", "v1.1.0")
    assert rec["recovery_hours"] == pytest.approx(24.0) and rec["recovered_by"] == "deployment"


def test_revert_after_only_unplanned_deployments_is_rework(tmp_path):
    """v1.0.0, v1.1.0 (bad c2), v1.1.1-hotfix (unrelated, unplanned), v1.1.2 (revert of c2): nothing planned
    lies between v1.1.0 and the revert, so the revert fixes what runs -> unplanned. The engine's unplanned_fix
    from it lands on v1.1.0, already failed: CFR 1/4, rework 2/4."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: base", "2024-07-01T09:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-07-01T10:00:00Z")
    c2 = repo.commit("feat: bad", "2024-07-02T09:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-07-02T10:00:00Z")
    repo.commit("chore: bump runtime", "2024-07-02T11:00:00Z")
    repo.tag("v1.1.1-hotfix", annotated_at="2024-07-02T12:00:00Z")
    repo.revert(c2, "2024-07-02T13:00:00Z")
    repo.tag("v1.1.2", annotated_at="2024-07-02T14:00:00Z")
    ev = read_git(repo.path)
    assert kinds(ev) == {"v1.0.0": "planned", "v1.1.0": "planned", "v1.1.1-hotfix": "unplanned",
                         "v1.1.2": "unplanned"}  # fmt: skip
    r = compute(ev, Window.parse("2024-07-01", "2024-07-03"), MetricsConfig())
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 4)
    assert (r.rework_rate["unplanned"], r.rework_rate["deployments"]) == (2, 4)
    # v1.1.0 10:00 -> next good deployment v1.1.1-hotfix 12:00 = 2 h (incident resolved 14:00 = 4 h)
    assert r.recovery_time["value"] == pytest.approx(2.0)


# ---------------------------------------------------------------------- 3. environments from the pattern


@pytest.fixture(scope="module")
def env_repo(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("envs"))
    c = {}
    c["a"] = repo.commit("feat: a", "2024-02-01T00:00:00Z")
    repo.tag("deploy/staging/1", annotated_at="2024-02-01T01:00:00Z")
    repo.tag("deploy/qa/1", annotated_at="2024-02-01T01:30:00Z")
    c["b"] = repo.commit("feat: b", "2024-02-02T00:00:00Z")
    repo.tag("deploy/staging/2", annotated_at="2024-02-02T01:00:00Z")
    repo.tag("deploy/prod/1", annotated_at="2024-02-03T00:00:00Z")
    repo.checkout("staging", new=True)
    c["s"] = repo.commit("feat: on staging", "2024-02-04T00:00:00Z")
    repo.checkout("main")
    return repo, c


def test_tag_pattern_names_environment_by_segment(env_repo):
    repo, c = env_repo
    ev = read_git(repo.path, GitOptions(tag_patterns=("deploy/staging/*",)))
    assert envs(ev) == {"deploy/staging/1": "staging", "deploy/staging/2": "staging"}
    assert change_sets(ev) == {"deploy/staging/1": {f"{c['a']}@staging"},
                               "deploy/staging/2": {f"{c['b']}@staging"}}  # fmt: skip
    assert ("Environment 'staging' inferred from tag pattern 'deploy/staging/*' (path segment 'staging'); "
            "add ':ENV' to choose another.") in ev.notes  # fmt: skip
    # aliases: prod -> production; qa is kept as written; an explicit :ENV wins; {env} is unchanged
    ev = read_git(
        repo.path, GitOptions(tag_patterns=("deploy/prod/*", "deploy/qa/*", "deploy/staging/*:stg2"))
    )
    assert envs(ev) == {"deploy/prod/1": "production", "deploy/qa/1": "qa", "deploy/staging/1": "stg2",
                        "deploy/staging/2": "stg2"}  # fmt: skip
    assert sum("inferred" in n for n in ev.notes) == 2
    ev = read_git(repo.path, GitOptions(tag_patterns=("deploy/{env}/*",)))
    assert set(envs(ev).values()) == {"staging", "qa", "prod"} and not any("inferred" in n for n in ev.notes)
    # a wildcard segment names nothing: deploy/stag*/* -> the default environment
    ev = read_git(repo.path, GitOptions(tag_patterns=("deploy/stag*/*",)))
    assert set(envs(ev).values()) == {"production"}
    with pytest.raises(InputError, match="names several environments"):
        read_git(repo.path, GitOptions(tag_patterns=("deploy/prod/staging/*",)))


def test_tag_regex_names_environment_by_literal_prefix(env_repo):
    repo, _ = env_repo
    ev = read_git(repo.path, GitOptions(tag_regexes=(r"deploy/staging/\d+",)))
    assert envs(ev) == {"deploy/staging/1": "staging", "deploy/staging/2": "staging"}
    assert any("inferred from tag regex" in n for n in ev.notes)
    ev = read_git(repo.path, GitOptions(tag_regexes=(r"deploy/(?P<env>\w+)/\d+",)))  # the group wins
    assert envs(ev)["deploy/prod/1"] == "prod" and not any("inferred" in n for n in ev.notes)
    assert _regex_literal_segments(r"^deploy/staging/.*") == ["deploy", "staging"]
    assert _regex_literal_segments(r"deploy\/prod\-eu/v\d+") == ["deploy", "prod-eu"]
    assert _regex_literal_segments(r"deploy/stagings?/\d+") == ["deploy"]  # quantified: not literal
    assert _regex_literal_segments(r"deploy/staging/x|release/prod/y") == []  # top-level alternation
    assert _regex_literal_segments(r"deploy/staging/(a|b)") == ["deploy", "staging"]
    assert _regex_literal_segments(r"(?i)deploy/staging/.*") == []
    assert _regex_literal_segments("deploy/staging") == ["deploy", "staging"]


def test_deploy_branch_named_like_an_environment(env_repo, tmp_path, capsys):
    repo, c = env_repo
    ev = read_git(repo.path, GitOptions(deploy_branches=("staging", "main")))
    ids = {f"staging@{c[k][:12]}" for k in ("a", "b", "s")} | {f"main@{c[k][:12]}" for k in ("a", "b")}
    assert set(envs(ev)) == ids
    assert {d: e for d, e in envs(ev).items() if d.startswith("staging@")} == {
        f"staging@{c[k][:12]}": "staging" for k in ("a", "b", "s")}  # fmt: skip
    assert {e for d, e in envs(ev).items() if d.startswith("main@")} == {"production"}
    assert ("Environment 'staging' inferred from deploy branch 'staging' (path segment 'staging'); "
            "add ':ENV' to choose another.") in ev.notes  # fmt: skip
    assert set(envs(read_git(repo.path, GitOptions(deploy_branches=("staging:qa",)))).values()) == {"qa"}
    # through the CLI: the exported deployments carry the inferred environment, the note goes to stderr
    out = tmp_path / "out"
    assert main(["events", "export", "--git", str(repo.path), "--out", str(out),
                 "--tag-pattern", "deploy/staging/*"]) == 0  # fmt: skip
    exported = pd.read_csv(out / "deployments.csv")
    assert set(exported["environment"]) == {"staging"}
    assert "inferred from tag pattern 'deploy/staging/*'" in capsys.readouterr().err


# ------------------------------------------------------------------------ 4. several tags on one commit


def test_tags_on_one_commit_are_one_deployment(tmp_path):
    """Timeline (UTC, Aug 2024), regex v?MAJOR.MINOR(.PATCH)?(-hotfix)?:

    c1 09:00 Aug 1: 1.2.3 (10:00) and v1.2.3 (11:00) -> one deployment 1.2.3 at 10:00;
    c2 Aug 2: v1.3.0 (10:00) and alias v1.3 (12:00) -> v1.3.0;
    c3 Aug 3: v1.3.1 (10:00) and v1.3.1-hotfix (10:05) -> v1.3.1, a hotfix (unplanned);
    m1 on maint (from c1) Aug 3: v1.2.4 (13:00); c4 Aug 4: v1.4.0 (10:00);
    v1.2.5 on m1 Aug 5 10:00: a re-tag of a deployed commit that is no ancestor of v1.4.0 -> stays a
    deployment without changes, no rollback (as before).
    """
    repo = GitRepo(tmp_path / "r")
    c1 = repo.commit("feat: one", "2024-08-01T09:00:00Z")
    repo.tag("1.2.3", annotated_at="2024-08-01T10:00:00Z")
    repo.tag("v1.2.3", annotated_at="2024-08-01T11:00:00Z")
    c2 = repo.commit("feat: two", "2024-08-02T09:00:00Z")
    repo.tag("v1.3.0", annotated_at="2024-08-02T10:00:00Z")
    repo.tag("v1.3", annotated_at="2024-08-02T12:00:00Z")
    c3 = repo.commit("fix: three", "2024-08-03T09:00:00Z")
    repo.tag("v1.3.1", annotated_at="2024-08-03T10:00:00Z")
    repo.tag("v1.3.1-hotfix", annotated_at="2024-08-03T10:05:00Z")
    repo.checkout("maint", new=True, start=c1)
    m1 = repo.commit("fix: backport", "2024-08-03T12:00:00Z")
    repo.tag("v1.2.4", annotated_at="2024-08-03T13:00:00Z")
    repo.checkout("main")
    c4 = repo.commit("feat: four", "2024-08-04T09:00:00Z")
    repo.tag("v1.4.0", annotated_at="2024-08-04T10:00:00Z")
    repo.tag("v1.2.5", m1, annotated_at="2024-08-05T10:00:00Z")
    ev = read_git(repo.path, GitOptions(tag_regexes=(r"v?\d+\.\d+(\.\d+)?(-hotfix)?",)))
    dep = ev.deployments.set_index("deployment_id")
    assert sorted(dep.index) == ["1.2.3", "v1.2.4", "v1.2.5", "v1.3.0", "v1.3.1", "v1.4.0"]
    assert dep.at["1.2.3", "finished_at"] == ts("2024-08-01T10:00:00Z")
    assert dep.at["1.2.3", "version"] == "1.2.3"
    assert dep.at["v1.3.0", "finished_at"] == ts("2024-08-02T10:00:00Z")
    assert change_sets(ev) == {"1.2.3": {c1}, "v1.3.0": {c2}, "v1.3.1": {c3}, "v1.2.4": {m1}, "v1.4.0": {c4},
                               "v1.2.5": set()}  # fmt: skip
    assert kinds(ev) == {"1.2.3": "planned", "v1.3.0": "planned", "v1.3.1": "unplanned", "v1.2.4": "planned",
                         "v1.4.0": "planned", "v1.2.5": "planned"}  # fmt: skip
    assert dep["rollback_of"].isna().all()
    assert ("3 tag(s) name the same commit as the tag deployed just before them in their environment and were "
            "merged into it (one deployment, finished at the earliest tag): v1.2.3 -> 1.2.3, v1.3 -> v1.3.0, "
            "v1.3.1-hotfix -> v1.3.1") in ev.notes  # fmt: skip
    r = compute(ev, Window.parse("2024-08-01", "2024-08-06"), MetricsConfig())
    # 6 deployments in 5 days -> 6 / 5 * 7 = 8.4 per week (9 and 12.6 before the merge)
    assert r.deployment_frequency["deployments"] == 6
    assert r.deployment_frequency["value"] == pytest.approx(8.4)
    # failed: v1.3.0, the latest planned deployment before the unplanned v1.3.1 -> 1/6; rework 1/6
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (1, 6)
    assert (r.rework_rate["unplanned"], r.rework_rate["deployments"]) == (1, 6)
    # recovery of v1.3.0: next good deployment v1.3.1, Aug 2 10:00 -> Aug 3 10:00 = 24 h
    assert r.recovery_time["value"] == pytest.approx(24.0)
