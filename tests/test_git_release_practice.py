"""Git source on real release practice (issue 11): each pattern in a real repository, expected deployments, change
sets, signals and metrics written out by hand.

1. a maintenance line released after the newer line (release trains): no rollback;
2. imported history (``git subtree add``, ``subtree pull``): not charged to the next release;
3. bot and release-tool commits: excluded at ingest, named per rule, never by identity;
4. two-/four-part, PEP 440, pre-release and branch-like tags;
5. monorepo package tags with ``--path``; unambiguous ids for any package name;
6. a late revert (``--revert-max-days``); 7. the hotfix word inside a topic name;
8. a shallow CI clone; 9. environment names in any letter case; 10. deployments only in another environment.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, GitRepo, change_sets, row, undeployed

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.sources.git import GitOptions, read_git
from hivepulse.sources.git.tagrules import classify


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def kinds(ev) -> dict[str, str]:
    return dict(zip(ev.deployments["deployment_id"], ev.deployments["kind"], strict=True))


def note(ev, start: str) -> str:
    found = [n for n in ev.notes if n.startswith(start)]
    assert len(found) == 1, (start, ev.notes)
    return found[0]


# ------------------------------------------------------------------------ 1. release trains, maintenance lines


def test_maintenance_release_after_the_newer_line_is_no_rollback(tmp_path):
    """c1 (v1.0.0 Jan 1 10:00), c2 (v1.1.0 Jan 2 10:00); f1 on maint-1.0 (from c1) Jan 3 08:00, merged into
    main (M, Jan 3 09:00) and released as v1.1.1 (Jan 3 10:00); then v1.0.1 on f1 a minute later.

    v1.1.1 ships f1; v1.0.1 ships nothing new (f1 is shipped): a deployment, noted, never a rollback (its commit
    was never deployed). CFR 0/4 and rework 0/4; the old rule made v1.0.1 a rollback of v1.1.1: 1/4 and 1/4."""
    repo = GitRepo(tmp_path / "r")
    c1 = repo.commit("feat: one", "2024-01-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-01-01T10:00:00Z")
    c2 = repo.commit("feat: two", "2024-01-02T00:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-01-02T10:00:00Z")
    repo.checkout("maint-1.0", new=True, start=c1)
    f1 = repo.commit("fix: security", "2024-01-03T08:00:00Z", file="sec.txt")
    repo.checkout("main")
    repo.merge("maint-1.0", "2024-01-03T09:00:00Z")
    repo.tag("v1.1.1", annotated_at="2024-01-03T10:00:00Z")
    repo.tag("v1.0.1", f1, annotated_at="2024-01-03T10:01:00Z")
    ev = read_git(repo.path)
    assert ev.deployments["deployment_id"].tolist() == ["v1.0.0", "v1.0.1", "v1.1.0", "v1.1.1"]
    assert change_sets(ev) == {"v1.0.0": {c1}, "v1.1.0": {c2}, "v1.1.1": {f1}, "v1.0.1": set()}
    assert ev.deployments["rollback_of"].isna().all() and set(kinds(ev).values()) == {"planned"}
    assert note(ev, "1 deployment(s) ship no new commit").endswith("they count as deployments: v1.0.1")
    r = compute(ev, Window.parse("2024-01-01", "2024-01-04"), MetricsConfig())
    assert r.deployment_frequency["deployments"] == 4
    assert (r.change_fail_rate["failed"], r.rework_rate["unplanned"]) == (0, 0)
    # lead time (first deployment excluded): c2 -> v1.1.0 10 h, f1 -> v1.1.1 2 h: median 6 h
    assert r.lead_time["n"] == 2 and r.lead_time["value"] == pytest.approx(6.0)


def test_rollback_is_a_redeployment_of_an_earlier_deployed_commit(tmp_path):
    """v1.0.0 (c1), v1.1.0 (c2), v1.2.0 (c3); v1.2.1 re-tags c2 (v1.1.0's commit, an ancestor of c3): a rollback
    of v1.2.0. v1.3.0 on c3 again moves forward (c3 contains c2): re-deployed, not a rollback; v1.2.2 tags c1.5,
    a commit no deployment deployed: a deployment shipping nothing, not a rollback."""
    repo = GitRepo(tmp_path / "r")
    c1 = repo.commit("feat: one", "2024-02-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-02-01T10:00:00Z")
    c15 = repo.commit("feat: one and a half", "2024-02-01T12:00:00Z")
    c2 = repo.commit("feat: two", "2024-02-02T00:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-02-02T10:00:00Z")
    c3 = repo.commit("feat: three", "2024-02-03T00:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-02-03T10:00:00Z")
    repo.tag("v1.2.1", c2, annotated_at="2024-02-03T11:00:00Z")
    repo.tag("v1.3.0", c3, annotated_at="2024-02-03T12:00:00Z")
    repo.tag("v1.2.2", c15, annotated_at="2024-02-03T13:00:00Z")
    ev = read_git(repo.path)
    dep = ev.deployments.set_index("deployment_id")
    assert dep["rollback_of"].dropna().to_dict() == {"v1.2.1": "v1.2.0"}
    assert kinds(ev) == {"v1.0.0": "planned", "v1.1.0": "planned", "v1.2.0": "planned", "v1.2.1": "unplanned",
                         "v1.3.0": "planned", "v1.2.2": "planned"}  # fmt: skip
    assert change_sets(ev) == {"v1.0.0": {c1}, "v1.1.0": {c15, c2}, "v1.2.0": {c3}, "v1.2.1": set(),
                               "v1.3.0": set(), "v1.2.2": set()}  # fmt: skip
    assert note(ev, "2 deployment(s) ship no new commit").endswith("v1.3.0, v1.2.2")


# ---------------------------------------------------------------------------------------- 2. imported history


def test_subtree_add_is_imported_history(tmp_path):
    """B's history (b1 2020, b2 2021, b3 2022) added to A with ``git subtree add`` (S, Jan 11 09:00), then a2
    (Jan 11 10:00) -> v1.1.0 (12:00); B's b4 (Jan 12) pulled with ``git subtree pull`` (Jan 12 09:00), a3
    (10:00) -> v1.2.0 (12:00). v1.1.0 ships a2, v1.2.0 ships a3: the four commits of B are imported history, not
    changes (the old rule charged b1-b3 to v1.1.0: lead times up to four years)."""
    other = GitRepo(tmp_path / "b")
    b = [other.commit(f"feat(b): {k}", f"{2019 + k}-01-01T00:00:00Z", file=f"b{k}.txt") for k in (1, 2, 3)]
    repo = GitRepo(tmp_path / "a")
    a1 = repo.commit("feat: a1", "2024-01-10T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-01-10T12:00:00Z")
    repo.subtree_add("vendor/b", other, "main", "2024-01-11T09:00:00Z")
    a2 = repo.commit("feat: a2", "2024-01-11T10:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-01-11T12:00:00Z")
    b4 = other.commit("feat(b): 4", "2024-01-12T00:00:00Z", file="b4.txt")
    repo.git("subtree", "pull", "-q", "--prefix=vendor/b", str(other.path), "main", "-m", "Merge vendor/b",
             when="2024-01-12T09:00:00Z")  # fmt: skip
    a3 = repo.commit("feat: a3", "2024-01-12T10:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-01-12T12:00:00Z")
    ev = read_git(repo.path)
    assert change_sets(ev) == {"v1.0.0": {a1}, "v1.1.0": {a2}, "v1.2.0": {a3}}
    assert not set(b + [b4]) & set(ev.changes["change_id"])
    assert note(ev, "4 commit(s) of imported history").startswith(
        "4 commit(s) of imported history are not changes: they reach the deployments only through 2 merge(s) of "
        "another root's history (1 root(s)"
    )
    r = compute(ev, Window.parse("2024-01-10", "2024-01-13"), MetricsConfig())
    assert r.lead_time["n"] == 2 and r.lead_time["value"] == pytest.approx(2.0)
    full = read_git(repo.path, GitOptions(include_imported=True))
    assert change_sets(full) == {"v1.0.0": {a1}, "v1.1.0": {a2, *b}, "v1.2.0": {a3, b4}}
    assert not any("imported" in n for n in full.notes)


# ------------------------------------------------------------------------------ 3. bots and release tooling


BOTS = {
    "dependabot": ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    "actions": ("github-actions", "github-actions@github.com"),
    "renovate": ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com"),
    "precommit": ("pre-commit-ci[bot]", "66853113+pre-commit-ci[bot]@users.noreply.github.com"),
    "releaseplease": ("release-please[bot]", "55107282+release-please[bot]@users.noreply.github.com"),
    "owl": ("Yoshi Automation Bot", "yoshi-automation@example.invalid"),
}


@pytest.fixture(scope="module")
def bots(tmp_path_factory):
    """c1 (v1.0.0 Jan 1 10:00); Jan 2: h1 (human) 00:00, Dependabot 01:00, GitHub Actions 02:00, Renovate 03:00,
    pre-commit.ci 04:00, a bot-named account 05:00, release-please 'chore(main): release 1.1.0' 09:59 -> v1.1.0
    10:00; Jan 3: h2 (human fix) 06:00, 'Version Packages' (changesets, by a person) 07:00, 'chore(release):
    1.2.0 [skip ci]' (semantic-release, by a person) 08:00 -> v1.2.0 10:00."""
    repo = GitRepo(tmp_path_factory.mktemp("bots"))
    c = {"c1": repo.commit("feat: start", "2024-01-01T00:00:00Z")}
    repo.tag("v1.0.0", annotated_at="2024-01-01T10:00:00Z")
    c["h1"] = repo.commit("feat: search", "2024-01-02T00:00:00Z")
    c["dependabot"] = repo.commit("build(deps): bump x from 1 to 2", "2024-01-02T01:00:00Z", author=BOTS["dependabot"])
    c["actions"] = repo.commit("📝 Update release notes", "2024-01-02T02:00:00Z", author=BOTS["actions"])
    c["renovate"] = repo.commit("chore(deps): update y", "2024-01-02T03:00:00Z", author=BOTS["renovate"])
    c["precommit"] = repo.commit("[pre-commit.ci] auto fixes", "2024-01-02T04:00:00Z", author=BOTS["precommit"])
    c["owl"] = repo.commit("chore: sync templates", "2024-01-02T05:00:00Z", author=BOTS["owl"])
    c["rp"] = repo.commit("chore(main): release 1.1.0", "2024-01-02T09:59:00Z", author=BOTS["releaseplease"])
    repo.tag("v1.1.0", annotated_at="2024-01-02T10:00:00Z")
    c["h2"] = repo.commit("fix: typo", "2024-01-03T06:00:00Z")
    c["cs"] = repo.commit("Version Packages", "2024-01-03T07:00:00Z")
    c["sr"] = repo.commit("chore(release): 1.2.0 [skip ci]\n\n## 1.2.0", "2024-01-03T08:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-01-03T10:00:00Z")
    return repo, c


def test_bots_and_release_tools_are_not_changes(bots):
    repo, c = bots
    ev = read_git(repo.path)
    assert change_sets(ev) == {"v1.0.0": {c["c1"]}, "v1.1.0": {c["h1"]}, "v1.2.0": {c["h2"]}}
    assert note(ev, "8 commit(s) excluded at ingest") == (
        "8 commit(s) excluded at ingest as bot, release-tool or excluded commits (not changes, no lead time; still "
        "walked for the deployments' history): GitHub Actions: 1, Dependabot: 1, Renovate: 1, pre-commit.ci: 1, "
        "bot name: 1, release-please: 1, changesets: 1, semantic-release: 1; --include-bots counts bots and "
        "release tools again."
    )
    r = compute(ev, Window.parse("2024-01-01", "2024-01-04"), MetricsConfig())
    # h1 -> v1.1.0 10 h, h2 -> v1.2.0 4 h: median 7 h
    assert r.lead_time["n"] == 2 and r.lead_time["value"] == pytest.approx(7.0)


def test_include_bots_counts_them_again(bots):
    repo, c = bots
    ev = read_git(repo.path, GitOptions(include_bots=True))
    bot_day = {"h1", "dependabot", "actions", "renovate", "precommit", "owl", "rp"}
    assert change_sets(ev) == {"v1.0.0": {c["c1"]}, "v1.1.0": {c[k] for k in bot_day},
                               "v1.2.0": {c["h2"], c["cs"], c["sr"]}}  # fmt: skip
    assert not any("excluded at ingest" in n for n in ev.notes)
    r = compute(ev, Window.parse("2024-01-01", "2024-01-04"), MetricsConfig())
    # lead times: 10, 9, 8, 7, 6, 5, 1/60 h (release commit) and 4, 3, 2 h -> median of 10 values: (5 + 6) / 2
    assert r.lead_time["n"] == 10 and r.lead_time["value"] == pytest.approx(5.5)


def test_team_patterns_and_blamelessness(bots, capsys, tmp_path):
    repo, c = bots
    ev = read_git(repo.path, GitOptions(include_bots=True, exclude_authors=("Zebulon",),
                                        exclude_messages=(r"^\[pre-commit\.ci\]", "^## 1\\.2\\.0$")))  # fmt: skip
    # the planted person's commits (c1, h1, h2, cs, sr) by the author pattern; pre-commit.ci by the message
    assert change_sets(ev) == {"v1.0.0": set(), "v1.1.0": {c[k] for k in ("dependabot", "actions", "renovate",
                                                                          "owl", "rp")}, "v1.2.0": set()}  # fmt: skip
    text = note(ev, "6 commit(s) excluded at ingest")
    assert text.endswith("--exclude-author #1: 5, --exclude-message #1: 1.")  # the patterns are never echoed
    # through the CLI: no name, e-mail or pattern text in any file, note or line printed
    out = tmp_path / "out"
    assert main(["events", "export", "--git", str(repo.path), "--out", str(out), "--exclude-author", "Zebulon"]) == 0
    printed = "".join(capsys.readouterr())
    files = "".join(p.read_text() for p in out.iterdir())
    everything = (printed + files + repr(ev.notes)).lower()
    for secret in (PLANTED_NAME, PLANTED_EMAIL, "zebulon", *(n for n, _ in BOTS.values()), *(e for _, e in BOTS.values())):
        assert secret.lower() not in everything, secret


def test_bad_team_pattern_is_an_input_error(bots):
    repo, _ = bots
    with pytest.raises(InputError, match=r"--exclude-author: invalid regular expression"):
        read_git(repo.path, GitOptions(exclude_authors=("(",)))


# ------------------------------------------------------------------------------------------------ 4. tag rules


def test_tag_rules(tmp_path):
    """1.0 (two-part), 1.0.0.1 (four-part), 1.1 and 1.1.post1 (PEP 440 finals) are releases; 1.1rc1,
    1.1.0-beta.1 and v1.2.0.dev1 are pre-releases, 1.1.x is branch-like, gitgui-0.7.0 matches no rule."""
    repo = GitRepo(tmp_path / "r")
    c = {k: repo.commit(f"feat: {k}", f"2024-03-0{k}T00:00:00Z") for k in range(1, 7)}
    for name, k in (("1.0", 1), ("1.0.0.1", 2), ("1.1rc1", 3), ("1.1.0-beta.1", 3), ("1.1", 4), ("1.1.x", 4),
                    ("1.1.post1", 5), ("v1.2.0.dev1", 5), ("gitgui-0.7.0", 6), ("release-2024", 6)):  # fmt: skip
        repo.tag(name, c[k])
    ev = read_git(repo.path)
    assert change_sets(ev) == {"1.0": {c[1]}, "1.0.0.1": {c[2]}, "1.1": {c[3], c[4]}, "1.1.post1": {c[5]}}
    assert undeployed(ev) == {c[6]}
    assert note(ev, "5 version-like tag(s)") == (
        "5 version-like tag(s) are not deployments: 3 pre-release(s) (1.1.0-beta.1, 1.1rc1, v1.2.0.dev1; "
        "--include-prereleases counts them); 1 branch-like tag(s) (1.1.x; never deployments); 1 other version-like "
        "tag(s) that match no tag rule (gitgui-0.7.0)."
    )
    every = read_git(repo.path, GitOptions(tag_patterns=("*",)))  # pre-releases and 1.1.x left out of the glob too
    assert set(every.deployments["deployment_id"]) == {"1.0", "1.0.0.1", "1.1", "1.1.post1", "gitgui-0.7.0"}
    assert note(every, "4 version-like tag(s)").startswith("4 version-like tag(s) are not deployments: 3 pre-release")
    pre = read_git(repo.path, GitOptions(tag_patterns=("*",), include_prereleases=True))
    assert change_sets(pre)["1.1.0-beta.1"] == {c[3]} and change_sets(pre)["1.1"] == {c[4]}
    assert "1.1.x" not in set(pre.deployments["deployment_id"])  # branch-like: never


@pytest.mark.parametrize(("name", "kind"), [
    ("v1.2.3", "final"), ("1.0", "final"), ("1.5.4.1", "final"), ("1!2.0", "final"), ("2.0.post1", "final"),
    ("v1.2.4-hotfix.1", "final"), ("pkg@1.2.3", "final"), ("@scope/pkg@1.2.3", "final"), ("pkg/v1.2.3", "final"),
    ("pkg-v1.2.3", "final"), ("1.2.3+build.5", "final"), ("v1.2.0-rc1", "prerelease"), ("1.0a1", "prerelease"),
    ("2.0b2", "prerelease"), ("2.0rc1", "prerelease"), ("1.0.dev1", "prerelease"), ("pkg/v1.2.3-rc.1", "prerelease"),
    ("pkg-v1.2.3-beta.1", "prerelease"), ("@scope/pkg@2.0.0-next.0", "prerelease"), ("1.0-M2", "prerelease"),
    ("1.0.x", "branch"), ("v2.x", "branch"), ("latest", None), ("deploy/staging/42", None), ("release-2024", None),
])  # fmt: skip
def test_version_classification(name, kind):
    assert classify(name) == kind


# ---------------------------------------------------------------------------------------- 5. monorepo packages


@pytest.fixture(scope="module")
def mono(tmp_path_factory):
    """r0 README, a1 packages/a, b1 packages/b (Jan 1) -> @scope/a@1.0.0 and @scope/b@1.0.0 (Jan 1 10:00);
    ci1 .github (Jan 2 01:00), a2 packages/a (02:00), b2 packages/b (03:00) -> @scope/a@1.1.0 (10:00); rv = revert
    of ci1 (12:00), b3 packages/b (13:00) -> @scope/b@1.1.0 and the pre-release @scope/a@1.2.0-next.0 (14:00)."""
    repo = GitRepo(tmp_path_factory.mktemp("mono"))
    c = {"r0": repo.commit("chore: init", "2024-01-01T00:00:00Z", file="README.md")}
    c["a1"] = repo.commit("feat(a): one", "2024-01-01T01:00:00Z", file="packages/a/x.txt")
    c["b1"] = repo.commit("feat(b): one", "2024-01-01T02:00:00Z", file="packages/b/y.txt")
    repo.tag("@scope/a@1.0.0", annotated_at="2024-01-01T10:00:00Z")
    repo.tag("@scope/b@1.0.0", annotated_at="2024-01-01T10:00:00Z")
    c["ci1"] = repo.commit("ci: cache", "2024-01-02T01:00:00Z", file=".github/workflows/ci.yml")
    c["a2"] = repo.commit("feat(a): two", "2024-01-02T02:00:00Z", file="packages/a/x.txt")
    c["b2"] = repo.commit("fix(b): two", "2024-01-02T03:00:00Z", file="packages/b/y.txt")
    repo.tag("@scope/a@1.1.0", annotated_at="2024-01-02T10:00:00Z")
    c["rv"] = repo.revert(c["ci1"], "2024-01-02T12:00:00Z")
    c["b3"] = repo.commit("feat(b): three", "2024-01-02T13:00:00Z", file="packages/b/y.txt")
    repo.tag("@scope/b@1.1.0", annotated_at="2024-01-02T14:00:00Z")
    repo.tag("@scope/a@1.2.0-next.0", annotated_at="2024-01-02T14:00:00Z")
    return repo, c


def test_package_tags_with_path_scope(mono):
    repo, c = mono
    a = read_git(repo.path, GitOptions(tag_patterns=("@scope/a@*",), paths=("packages/a",)))
    assert change_sets(a) == {"@scope/a@1.0.0": {c["a1"]}, "@scope/a@1.1.0": {c["a2"]}}
    assert a.incidents.empty  # the revert of a CI change is not a package incident
    assert set(a.changes["change_id"]) == {c["a1"], c["a2"]}  # only commits touching packages/a are changes
    assert note(a, "Path scope").startswith("Path scope (packages/a): 2 of 8 commit(s) touch the paths")
    b = read_git(repo.path, GitOptions(tag_patterns=("@scope/b@*",), paths=("packages/b",)))
    assert change_sets(b) == {"@scope/b@1.0.0": {c["b1"]}, "@scope/b@1.1.0": {c["b2"], c["b3"]}}
    assert b.incidents.empty
    # without the scope, the package's releases carry the whole repository, and the CI revert marks one failed
    whole = read_git(repo.path, GitOptions(tag_patterns=("@scope/a@*",)))
    assert change_sets(whole) == {"@scope/a@1.0.0": {c["r0"], c["a1"], c["b1"]},
                                  "@scope/a@1.1.0": {c["ci1"], c["a2"], c["b2"]}}  # fmt: skip
    assert whole.incidents["deployment_id"].tolist() == ["@scope/a@1.1.0"]


def test_package_environments_keep_ids_unambiguous(mono):
    """Each package as an environment named by a regex group (``@scope/a``): change ids ``<sha>@@scope/a`` and
    incident ids ``revert:<sha12>@@scope/a`` split unambiguously at the first '@' (the SHA parts are hex)."""
    repo, c = mono
    ev = read_git(repo.path, GitOptions(tag_regexes=(r"(?P<env>@scope/[ab])@\d+\.\d+\.\d+",)))
    envs = dict(zip(ev.deployments["deployment_id"], ev.deployments["environment"], strict=True))
    assert envs == {"@scope/a@1.0.0": "@scope/a", "@scope/a@1.1.0": "@scope/a", "@scope/b@1.0.0": "@scope/b",
                    "@scope/b@1.1.0": "@scope/b"}  # fmt: skip
    assert ev.changes["change_id"].is_unique and ev.incidents["incident_id"].is_unique
    shipped = {cid.partition("@")[2] for cid in ev.changes["change_id"] if "@" in cid}
    assert shipped == {"@scope/a", "@scope/b"}
    assert f"{c['a2']}@@scope/a" in set(ev.changes["change_id"])
    ids = dict(zip(ev.incidents["incident_id"], ev.incidents["deployment_id"], strict=True))
    # @scope/a@1.1.0 shipped ci1 and no later @scope/a release ships its revert: an open incident; @scope/b@1.1.0
    # ships ci1 and its revert together: no incident
    assert ids == {f"revert:{c['rv'][:12]}@@scope/a": "@scope/a@1.1.0"}
    head, _, env = next(iter(ids)).partition("@")
    assert (head, env) == (f"revert:{c['rv'][:12]}", "@scope/a")


def test_slash_and_dash_package_tags(tmp_path):
    repo = GitRepo(tmp_path / "r")
    x = repo.commit("feat: x", "2024-05-01T00:00:00Z", file="pkg/x.txt")
    repo.tag("pkg/v1.0.0", annotated_at="2024-05-01T01:00:00Z")
    repo.tag("pkg-v1.0.0", annotated_at="2024-05-01T01:00:00Z")
    y = repo.commit("feat: y", "2024-05-02T00:00:00Z", file="pkg/y.txt")
    repo.tag("pkg/v1.1.0-rc.1", annotated_at="2024-05-02T01:00:00Z")
    repo.tag("pkg-v1.1.0-beta.1", annotated_at="2024-05-02T01:00:00Z")
    z = repo.commit("feat: z", "2024-05-03T00:00:00Z", file="pkg/z.txt")
    repo.tag("pkg/v1.1.0", annotated_at="2024-05-03T01:00:00Z")
    repo.tag("pkg-v1.1.0", annotated_at="2024-05-03T01:00:00Z")
    for pattern in ("pkg/v*", "pkg-v*"):
        ev = read_git(repo.path, GitOptions(tag_patterns=(pattern,), paths=("pkg",)))
        prefix = pattern[:-1]
        assert change_sets(ev) == {f"{prefix}1.0.0": {x}, f"{prefix}1.1.0": {y, z}}


# ----------------------------------------------------------------------------------- 6. a late revert


@pytest.fixture(scope="module")
def late(tmp_path_factory):
    """v1.0.0 (Mar 1), v1.1.0 (bad c2, Mar 2 10:00), v1.2.0 (Mar 3); the revert of c2 on Apr 15 09:00 (43 days
    23 hours after v1.1.0) -> v1.2.1 (Apr 15 12:00)."""
    repo = GitRepo(tmp_path_factory.mktemp("late"))
    repo.commit("feat: one", "2024-03-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-03-01T10:00:00Z")
    c2 = repo.commit("feat: bad", "2024-03-02T00:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-03-02T10:00:00Z")
    repo.commit("feat: three", "2024-03-03T00:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-03-03T10:00:00Z")
    rv = repo.revert(c2, "2024-04-15T09:00:00Z")
    repo.tag("v1.2.1", annotated_at="2024-04-15T12:00:00Z")
    return repo, c2, rv


def test_late_revert_marks_no_failure(late):
    repo, _, rv = late
    ev = read_git(repo.path)
    assert ev.incidents.empty and set(kinds(ev).values()) == {"planned"}
    assert note(ev, "1 revert(s) came more than 30 days") == (
        "1 revert(s) came more than 30 days after the deployment that shipped the reverted commit and mark no "
        "failure (a failed deployment requires immediate intervention; --revert-max-days): "
        f"{rv[:12]} (v1.1.0)"
    )
    r = compute(ev, Window.parse("2024-03-01", "2024-04-16"), MetricsConfig())
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (0, 4)


def test_revert_within_a_longer_limit(late):
    repo, _, rv = late
    ev = read_git(repo.path, GitOptions(revert_max_days=60))
    inc = row(ev.incidents, "incident_id", f"revert:{rv[:12]}")
    assert inc["deployment_id"] == "v1.1.0"
    assert (inc["opened_at"], inc["resolved_at"]) == (ts("2024-04-15T09:00:00Z"), ts("2024-04-15T12:00:00Z"))
    assert kinds(ev)["v1.2.1"] == "planned"  # v1.2.0 (planned) lies between: it only resolves the incident
    # 43 days 23 hours after v1.1.0: within 44 days, not within 43
    assert len(read_git(repo.path, GitOptions(revert_max_days=44)).incidents) == 1
    assert read_git(repo.path, GitOptions(revert_max_days=43)).incidents.empty
    assert len(read_git(repo.path, GitOptions(revert_max_days=float("inf"))).incidents) == 1
    with pytest.raises(InputError, match="--revert-max-days"):
        read_git(repo.path, GitOptions(revert_max_days=-1))


# ----------------------------------------------------------------------------- 7. the hotfix word in a topic name


def test_hotfix_marker_only_at_the_start_of_a_branch_name(tmp_path):
    """Merged topics, each tagged: ps/build-hotfix (v1.1.0) and feature/hotfix-docs (v1.1.2) are planned;
    hotfix/login (v1.1.1), a pull request from org/hotfix-x (v1.1.3) and origin/hotfix_db (v1.1.4) are hotfixes."""
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: base", "2024-06-01T00:00:00Z")
    repo.tag("v1.0.0")
    merges = [("ps/build-hotfix", None, "v1.1.0"), ("hotfix/login", None, "v1.1.1"),
              ("feature/hotfix-docs", "Merge branch 'feature/hotfix-docs' into main", "v1.1.2"),
              ("pr-9", "Merge pull request #9 from org/hotfix-x", "v1.1.3"),
              ("hotfix_db", "Merge remote-tracking branch 'origin/hotfix_db'", "v1.1.4")]  # fmt: skip
    for day, (branch, message, tag) in enumerate(merges, start=2):
        repo.checkout(branch, new=True)
        repo.commit("change it", f"2024-06-0{day}T01:00:00Z", file=f"{day}.txt")
        repo.checkout("main")
        repo.merge(branch, f"2024-06-0{day}T02:00:00Z", message=message)
        repo.tag(tag)
    assert kinds(read_git(repo.path)) == {"v1.0.0": "planned", "v1.1.0": "planned", "v1.1.1": "unplanned",
                                          "v1.1.2": "planned", "v1.1.3": "unplanned", "v1.1.4": "unplanned"}  # fmt: skip


# --------------------------------------------------------------------------------------- 8. a shallow CI clone


def test_shallow_ci_clone_names_the_fix(tmp_path, capsys):
    repo = GitRepo(tmp_path / "r")
    first = repo.commit("feat: one", "2024-07-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-07-01T01:00:00Z")
    second = repo.commit("feat: two", "2024-07-02T00:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-07-02T01:00:00Z")
    repo.commit("feat: three", "2024-07-03T00:00:00Z")
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-tags", f"file://{repo.path}", str(clone)], check=True)
    with pytest.raises(InputError) as err:
        read_git(clone)
    text = str(err.value)
    assert "a shallow clone (history cut at 1 commit(s), 0 tag(s) fetched): no tag matched" in text
    assert "run git fetch --unshallow --tags in the clone" in text
    assert main(["events", "export", "--git", str(clone), "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr().err
    assert printed.count("\n") == 1 and "git fetch --unshallow --tags" in printed and "Traceback" not in printed
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--unshallow", "--tags"], check=True)
    fixed = read_git(clone)
    assert change_sets(fixed) == {"v1.0.0": {first}, "v1.1.0": {second}} and not fixed.notes


# ------------------------------------------------------------------------ 9. environment names in any letter case


def test_environment_names_in_any_letter_case(tmp_path, capsys):
    """Event files naming PRODUCTION and Production: one environment 'production', noted; --env PRODUCTION
    measures it."""
    events = tmp_path / "events"
    events.mkdir()
    (events / "deployments.csv").write_text(
        "deployment_id,environment,finished_at,status\n"
        "d1,PRODUCTION,2024-08-01T10:00:00Z,success\n"
        "d2,Production,2024-08-02T10:00:00Z,success\n"
        "d3,staging,2024-08-02T11:00:00Z,success\n"
    )
    (events / "changes.csv").write_text(
        "change_id,committed_at,deployment_id\nc1,2024-08-01T08:00:00Z,d1\nc2,2024-08-02T06:00:00Z,d2\n"
    )
    (events / "incidents.csv").write_text(
        "incident_id,opened_at,resolved_at,environment\ni1,2024-08-02T12:00:00Z,2024-08-02T13:00:00Z,PRODUCTION\n"
    )
    from hivepulse.sources.files import read_events

    ev = read_events(events)
    assert ev.deployments["environment"].tolist() == ["production", "production", "staging"]
    assert ev.incidents["environment"].tolist() == ["production"]
    assert ("deployments.csv: 2 environment name(s) not in lower case, e.g. 'PRODUCTION'; names are compared "
            "without letter case and written in lower case ('production')") in ev.notes  # fmt: skip
    window = ["--since", "2024-08-01", "--until", "2024-08-03", "--format", "json"]
    assert main(["metrics", "--events", str(events), "--env", "PRODUCTION", *window]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["environment"] == "production" and report["deployment_frequency"]["deployments"] == 2
    # the incident (production, 12:00) follows d2: failed 1 of 2
    assert report["change_fail_rate"]["failed"] == 1


def test_environment_case_in_git_options_and_deployments_file(tmp_path):
    repo = GitRepo(tmp_path / "r")
    a = repo.commit("feat: a", "2024-08-01T00:00:00Z")
    repo.tag("deploy/one", annotated_at="2024-08-01T01:00:00Z")
    ev = read_git(repo.path, GitOptions(tag_patterns=("deploy/*:PROD",), default_environment="Production"))
    assert ev.deployments["environment"].tolist() == ["prod"]
    assert "Environment 'PROD' (--tag-pattern) is compared without letter case and written 'prod'." in ev.notes
    path = tmp_path / "d.csv"
    path.write_text(f"finished_at,environment,commit_sha\n2024-08-01T02:00:00Z,Staging,{a}\n"
                    f"2024-08-01T03:00:00Z,,{a}\n")  # fmt: skip
    ev = read_git(repo.path, GitOptions(deployments_file=str(path), default_environment="PRODUCTION"))
    assert ev.deployments["environment"].tolist() == ["staging", "production"]
    assert ev.deployments["deployment_id"].tolist()[1] == f"production@{a[:12]}@1722481200"
    assert change_sets(ev)[f"production@{a[:12]}@1722481200"] == {a}  # the primary environment: bare SHAs


# ------------------------------------------------------------ 10. deployments only in another environment


def test_deployments_only_in_another_environment(tmp_path, capsys):
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: a", "2024-09-01T00:00:00Z")
    repo.checkout("test", new=True)
    repo.commit("feat: b", "2024-09-02T00:00:00Z")
    assert main(["metrics", "--git", str(repo.path), "--deploy-branch", "test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("no 'production' deployment to place the default window (deployments exist only in 'test' (2); "
            "measure them with --env test)") in err
    assert main(["metrics", "--git", str(repo.path), "--deploy-branch", "test", "--env", "TEST"]) == 0
    capsys.readouterr()
    # with an explicit window: a defined empty result whose notes say where the deployments are
    assert main(["metrics", "--git", str(repo.path), "--deploy-branch", "test", "--since", "2024-09-01",
                 "--until", "2024-09-03", "--format", "json"]) == 0  # fmt: skip
    import json

    notes = json.loads(capsys.readouterr().out)["data_quality"]["notes"]
    assert "No 'production' deployment in the data: deployments exist only in 'test' (2); measure them with --env test." in notes


def test_incident_ids_are_structured():
    from hivepulse.sources.git.signals import incident_id

    r, o = b"a" * 40, b"b" * 40
    assert incident_id(r, None, "production", "production") == "revert:aaaaaaaaaaaa"
    assert incident_id(r, o, "@scope/a:b@c", "production") == "revert:aaaaaaaaaaaa:bbbbbbbbbbbb@@scope/a:b@c"
    assert incident_id(r, o, "qa", "production", full=True) == f"revert:{'a' * 40}:{'b' * 40}@qa"
