"""Git source robustness: bad paths, bare and shallow clones, odd tags, odd dates, odd encodings, options."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from gitrepo import GitRepo, change_sets, fast_import, undeployed

from hivepulse.errors import InputError, SourceError
from hivepulse.sources.git import GitOptions, read_git


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    """c1..c5, one per day from 2024-01-01T00:00Z; v1.0.0 on c1, v1.1.0 on c3, v1.2.0 on c5 (lightweight)."""
    repo = GitRepo(tmp_path_factory.mktemp("five"))
    c = {i: repo.commit(f"feat: {i}", f"2024-01-0{i}T00:00:00Z") for i in range(1, 6)}
    repo.tag("v1.0.0", c[1])
    repo.tag("v1.1.0", c[3])
    repo.tag("v1.2.0", c[5])
    return repo, c


def test_not_a_repository(tmp_path):
    with pytest.raises(SourceError, match="not a git repository"):
        read_git(tmp_path)
    with pytest.raises(SourceError, match="no such directory"):
        read_git(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SourceError, match="not a directory"):
        read_git(tmp_path / "file.txt")


def test_bare_clone_gives_the_same_events(five, tmp_path):
    repo, _ = five
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    a, b = read_git(repo.path), read_git(bare)
    pd.testing.assert_frame_equal(a.deployments, b.deployments)
    pd.testing.assert_frame_equal(a.changes, b.changes)
    assert not b.notes


def test_shallow_clone_is_reported(five, tmp_path):
    repo, c = five
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.path}", str(shallow)], check=True)
    ev = read_git(shallow)
    # the clone holds c3, c4, c5 and the tags on them; c3 is the cut (its parent c2 is missing)
    assert change_sets(ev) == {"v1.1.0": {c[3]}, "v1.2.0": {c[4], c[5]}}
    note = next(n for n in ev.notes if n.startswith("Shallow clone"))
    assert "cut at 1 commit" in note and "1 change(s) in 1 deployment(s)" in note


def test_no_matching_deployment(five):
    repo, _ = five
    with pytest.raises(
        InputError, match=r"no tag matched glob 'release-\*' \(3 tags in the repository: v1.0.0"
    ):
        read_git(repo.path, GitOptions(tag_patterns=("release-*",)))
    ev = read_git(repo.path, GitOptions(tag_patterns=("release-*",), allow_empty=True))
    assert ev.deployments.empty and len(ev.changes) == 5 and ev.changes["deployment_id"].isna().all()
    assert any(n.startswith("No deployment found") for n in ev.notes)


def test_empty_repository(tmp_path):
    GitRepo(tmp_path)
    with pytest.raises(InputError, match="has no commits"):
        read_git(tmp_path)
    ev = read_git(tmp_path, GitOptions(allow_empty=True))
    assert ev.deployments.empty and ev.changes.empty and ev.incidents.empty


def test_bad_options(five):
    repo, _ = five
    for options, pattern in [
        (GitOptions(tag_regexes=("(",)), "--tag-regex: invalid regular expression"),
        (GitOptions(hotfix_regex="["), "--hotfix-regex: invalid regular expression"),
        (GitOptions(fix_window_hours=-1), "--fix-window-hours"),
        (GitOptions(deploy_branches=("nope",)), "--deploy-branch: no such branch"),
        (GitOptions(tag_patterns=("deploy/{env}/*:prod",)), "name the environment once"),
    ]:
        with pytest.raises(InputError, match=pattern):
            read_git(repo.path, options)


def test_tags_on_trees_blobs_nested_and_without_tagger(tmp_path):
    repo = GitRepo(tmp_path)
    a = repo.commit("feat: a", "2024-06-01T00:00:00Z")
    repo.tag("v1.0.0", annotated_at="2024-06-01T02:00:00Z")
    repo.tag("v9.9.9", repo.rev("HEAD^{tree}"))  # lightweight tag on a tree
    repo.tag("v9.9.8", repo.rev("HEAD:change1.txt"))  # lightweight tag on a blob
    repo.tag("v9.9.7", repo.rev("HEAD:change1.txt"), annotated_at="2024-06-01T03:00:00Z")  # annotated, blob
    b = repo.commit("feat: b", "2024-06-02T00:00:00Z")
    repo.git("tag", "-a", "-m", "inner", "inner", b, tag_when="2024-06-02T01:00:00Z")
    repo.git("tag", "-a", "-m", "outer", "v1.1.0", "inner", tag_when="2024-06-02T05:00:00Z")  # tag of a tag
    c = repo.commit("feat: c", "2024-06-03T00:00:00Z")
    # an annotated tag object without a tagger line (as old git or fast-import write them)
    subprocess.run(["git", "-C", str(repo.path), "fast-import", "--quiet", "--done"], check=True,
                   input=b"tag v1.2.0\nfrom refs/heads/main\ndata 3\nhi\n\ndone\n")  # fmt: skip
    ev = read_git(repo.path)
    deps = ev.deployments.set_index("deployment_id")
    assert list(deps.index) == ["v1.0.0", "v1.1.0", "v1.2.0"]
    assert deps.loc["v1.1.0", "commit_sha"] == b
    assert deps.loc["v1.1.0", "finished_at"] == ts("2024-06-02T05:00:00Z")  # the outer tag's tagger date
    assert deps.loc["v1.2.0", "finished_at"] == ts("2024-06-03T00:00:00Z")  # no tagger: commit date
    assert change_sets(ev) == {"v1.0.0": {a}, "v1.1.0": {b}, "v1.2.0": {c}}
    skipped = next(n for n in ev.notes if "tree or blob" in n)
    assert (
        skipped.startswith("3 matching tag(s)") and "v9.9.9 (tree)" in skipped and "v9.9.8 (blob)" in skipped
    )
    assert any("no tagger date" in n and "v1.2.0" in n for n in ev.notes)


def test_odd_dates_and_offsets(tmp_path):
    repo = GitRepo(tmp_path)
    a = repo.commit("feat: old", "1971-02-03T04:05:06+05:30")  # = 1971-02-02T22:35:06Z
    b = repo.commit("feat: far", "2099-12-31T23:59:59-08:00")  # = 2100-01-01T07:59:59Z
    c = repo.commit("feat: odd offset", "2024-07-01T12:00:00+14:00")  # = 2024-06-30T22:00:00Z (clock skew)
    repo.tag("v1.0.0", annotated_at="2024-07-01T00:00:00-09:30")  # = 2024-07-01T09:30:00Z
    ev = read_git(repo.path)
    ch = ev.changes.set_index("change_id")["committed_at"]
    assert ch[a] == ts("1971-02-02T22:35:06Z")
    assert ch[b] == ts(
        "2100-01-01T07:59:59Z"
    )  # committed after the deployment: negative lead time downstream
    assert ch[c] == ts("2024-06-30T22:00:00Z")
    assert ev.deployments["finished_at"].iloc[0] == ts("2024-07-01T09:30:00Z")


def test_non_utf8_messages(tmp_path):
    repo = GitRepo(tmp_path)
    a = repo.commit(
        b"fix: caf\xe9 cr\xe8me (latin-1 without header)\n\nbody \xff\xfe\n", "2024-08-01T00:00:00Z"
    )
    repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    b = repo.commit("feat: na\xefve".encode("latin-1"), "2024-08-01T01:00:00Z")  # declared encoding
    repo.git("config", "--unset", "i18n.commitEncoding")
    r = repo.revert(a, "2024-08-02T00:00:00Z")
    repo.tag("v1.0.0")
    ev = read_git(repo.path)
    types = ev.changes.set_index("change_id")["change_type"]
    assert (types[a], types[b], types[r]) == ("fix", "feat", "revert")


def test_undeployed_branches_and_remotes(five, tmp_path):
    repo, c = five
    clone = GitRepo(tmp_path / "clone", init=False)
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone.path)], check=True)
    clone.checkout("topic", new=True)
    t = clone.commit("feat: local only", "2024-01-06T00:00:00Z")
    ev = read_git(clone.path)
    assert undeployed(ev) == {t}
    assert change_sets(ev)["v1.2.0"] == {c[4], c[5]}


def test_many_commits_match_rev_list(tmp_path):
    """600 linear commits via fast-import, a tag every 50: each deployment = rev-list prev..this."""
    from gitrepo import linear_stream

    repo = fast_import(tmp_path / "big", linear_stream(600, tag_every=50))
    ev = read_git(repo.path, GitOptions(tag_patterns=("v*",)))
    assert len(ev.deployments) == 12 and len(ev.changes) == 600
    sets = change_sets(ev)
    for k in range(2, 13):
        expected = set(repo.git("rev-list", f"v0.0.{k - 1}..v0.0.{k}").split())
        assert sets[f"v0.0.{k}"] == expected and len(expected) == 50
    assert len(sets["v0.0.1"]) == 50


def test_deployments_file(five, tmp_path):
    repo, c = five
    path = tmp_path / "deploys.csv"
    path.write_text(
        "finished_at,environment,commit_sha,status\n"
        f"2024-01-02T06:00:00+05:30,production,{c[2][:8]},success\n"  # 00:30Z
        f"2024-01-03T12:00:00Z,production,{c[3]},failure\n"  # a failed attempt ships nothing
        f"2024-01-04T12:00:00Z,,{c[4]},\n"  # empty environment -> production; empty status -> success
        f"2024-01-05T12:00:00Z,staging,{c[5]},success\n"
    )
    ev = read_git(repo.path, GitOptions(deployments_file=str(path)))
    d = ev.deployments
    assert d["environment"].tolist() == ["production", "production", "production", "staging"]
    assert d["status"].tolist() == ["success", "failure", "success", "success"]
    assert d["finished_at"].iloc[0] == ts("2024-01-02T00:30:00Z")
    ids = d["deployment_id"].tolist()
    sets = change_sets(ev)
    assert sets[ids[0]] == {c[1], c[2]} and sets[ids[1]] == set() and sets[ids[2]] == {c[3], c[4]}
    assert sets[ids[3]] == {f"{c[i]}@staging" for i in range(1, 6)}
    assert d["first_deployment"].tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        # the messages of the one event contract (docs/data-model.md), as for an events directory
        ("finished_at,commit_sha\n", r"line 1, column 'environment': missing required column"),
        ("finished_at,environment,commit_sha\n2024-01-01,production,{sha}\n",
         r"line 2, column 'finished_at': timestamp without UTC offset: got '2024-01-01'"),
        ("finished_at,environment,commit_sha\nyesterday,production,{sha}\n",
         r"line 2, column 'finished_at': unparsable timestamp: got 'yesterday'"),
        ("finished_at,environment,commit_sha\n2024-01-01T00:00:00Z,production,{sha}\n"
         "2024-01-02T00:00:00Z,production,deadbeefdeadbeef\n",
         r"line 3, column 'commit_sha': commit not found"),
        ("finished_at,environment,commit_sha,status\n2024-01-01T00:00:00Z,production,{sha},ok\n",
         r"line 2, column 'status': invalid status: got 'ok'; expected one of success, failure"),
        ("", "empty file"),
    ],
)  # fmt: skip
def test_deployments_file_errors(five, tmp_path, text, pattern):
    repo, c = five
    path = tmp_path / "d.csv"
    path.write_text(text.format(sha=c[1]))
    with pytest.raises(InputError, match=pattern):
        read_git(repo.path, GitOptions(deployments_file=str(path)))
