"""Low-level graph reading: chunked streaming parse == one-shot parse; message facts; the owner walk."""

from __future__ import annotations

import numpy as np
import pytest
from gitrepo import GitRepo, fast_import, linear_stream

from hivepulse.sources.git import graph as gitgraph
from hivepulse.sources.git import walk


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("mixed"))
    a = repo.commit("feat(core)!: a (#12)", "2024-01-01T00:00:00Z")
    repo.checkout("topic", new=True)
    repo.commit("fix: b\n\nlong body\nBREAKING CHANGE: yes", "2024-01-02T00:00:00Z", file="t.txt")
    repo.checkout("main")
    repo.commit("plain subject (#7) not at end", "2024-01-02T01:00:00Z")
    repo.merge("topic", "2024-01-03T00:00:00Z", message="Merge pull request #99 from org/hotfix-x")
    repo.revert(a, "2024-01-04T00:00:00Z")
    repo.commit(b"chore: caf\xe9\n", "2024-01-05T00:00:00Z")
    return repo


def _same(g1: gitgraph.CommitGraph, g2: gitgraph.CommitGraph) -> None:
    assert g1.shas == g2.shas
    for name in ("parent_ptr", "parent_idx", "committer_time", "author_time", "n_parents", "breaking",
                 "pr_numbers"):  # fmt: skip
        np.testing.assert_array_equal(getattr(g1, name), getattr(g2, name), err_msg=name)
    assert list(g1.types) == list(g2.types)
    assert g1.merge_subjects == g2.merge_subjects and g1.reverts == g2.reverts


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_read_equals_one_shot(mixed, chunk):
    whole = gitgraph._parse_log(gitgraph.git(str(mixed.path), "log", *gitgraph.REV_ARGS, "-z",
                                             f"--format={gitgraph.LOG_FORMAT}", "--"))  # fmt: skip
    _same(gitgraph.read_graph(str(mixed.path), chunk_bytes=chunk), whole)


def test_message_facts(mixed):
    g = gitgraph.read_graph(str(mixed.path))
    subjects = mixed.git("log", "--all", "--format=%H %s").splitlines()
    by_subject = {line.split(" ", 1)[1]: g.index[line.split(" ", 1)[0].encode()] for line in subjects}
    a = by_subject["feat(core)!: a (#12)"]
    assert (g.types[a], bool(g.breaking[a]), g.pr_numbers[a]) == ("feat", True, 12)
    b = by_subject["fix: b"]
    assert (g.types[b], bool(g.breaking[b])) == ("fix", True)  # footer
    p = by_subject["plain subject (#7) not at end"]
    assert (g.types[p], g.pr_numbers[p]) == (None, -1)
    m = by_subject["Merge pull request #99 from org/hotfix-x"]
    assert g.pr_numbers[m] == 99 and g.n_parents[m] == 2 and g.merge_subjects[m].endswith(b"hotfix-x")
    r = next(i for s, i in by_subject.items() if s.startswith('Revert "'))
    assert g.types[r] == "revert" and g.reverts[r] == [g.shas[a]]
    c = next(i for s, i in by_subject.items() if s.startswith("chore"))
    assert g.types[c] == "chore"


def test_large_linear_chunked(tmp_path):
    repo = fast_import(tmp_path / "lin", linear_stream(2000))
    g = gitgraph.read_graph(str(repo.path), chunk_bytes=4096)
    assert len(g) == 2000 and g.missing_parents == 0
    assert int(g.n_parents.sum()) == 1999 and list(g.types[:3]) == ["feat"] * 3
    # the walk from the tip claims everything; from the 1000th-newest commit, only its ancestors
    owner = walk.assign_owners(g, [1000, 0])
    assert (owner == 0).sum() == 1000 and (owner == 1).sum() == 1000


def test_assign_owners_earliest_wins():
    """A diamond: 0 <- 1, 0 <- 2, {1,2} <- 3 (merge). Deployments in order: commit 1, then 3."""
    shas = [b"%040d" % i for i in range(4)]
    # CSR parents: 0: none; 1: [0]; 2: [0]; 3: [1, 2]
    g = gitgraph.CommitGraph(
        shas=shas, index={s: i for i, s in enumerate(shas)},
        parent_ptr=np.array([0, 0, 1, 2, 4]), parent_idx=np.array([0, 0, 1, 2], dtype=np.int32),
        committer_time=np.zeros(4, np.int64), author_time=np.zeros(4, np.int64),
        n_parents=np.array([0, 1, 1, 2], np.int32), types=np.full(4, None, object),
        breaking=np.zeros(4, bool), pr_numbers=np.full(4, -1), merge_subjects={}, reverts={},
    )  # fmt: skip
    assert walk.assign_owners(g, [1, 3]).tolist() == [0, 0, 1, 1]
    assert walk.assign_owners(g, [-1, 3]).tolist() == [1, 1, 1, 1]  # a failed attempt claims nothing
    assert walk.first_parent_chain(g, 3) == [3, 1, 0]
