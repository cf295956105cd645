"""Low-level graph reading: chunked streaming parse == one-shot parse; message facts; the owner walk."""

from __future__ import annotations

import subprocess

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


# ----------------------------------------------------------------------- issue 11: in-memory answers == git's


def test_resolve_abbreviated_shas_by_bisect():
    shas = [b"ab12c" + b"0" * 35, b"ab12d" + b"0" * 35, b"ab13" + b"1" * 36, b"ff00" + b"0" * 36]
    g = gitgraph.CommitGraph(
        shas=shas, index={s: i for i, s in enumerate(shas)}, parent_ptr=np.zeros(5, np.int64),
        parent_idx=np.zeros(0, np.int32), committer_time=np.zeros(4, np.int64), author_time=np.zeros(4, np.int64),
        n_parents=np.zeros(4, np.int32), types=np.full(4, None, object), breaking=np.zeros(4, bool),
        pr_numbers=np.full(4, -1), merge_subjects={}, reverts={},
    )  # fmt: skip
    assert g.resolve("ab12000") is None and g.resolve("ab12c") is None  # absent; too short to be a SHA
    assert g.resolve("ab12c00") == 0 and g.resolve("ab12d00") == 1 and g.resolve(shas[2].decode().upper()) == 2
    assert g.resolve("ab1") is None and g.resolve("ab13") is None  # shorter than 7 hex: never an abbreviation
    assert g.resolve("ff00000") == 3 and g.resolve("ff00001") is None and g.resolve("zz00000") is None


@pytest.mark.parametrize("seed", range(3))
def test_ancestry_and_rev_list_match_git(tmp_path, seed):
    """``walk.reaches`` == ``git merge-base --is-ancestor`` and ``walk.only_reachable`` == ``git rev-list A ^B``
    on random pairs of a random repository (merges, maintenance branches, skewed dates)."""
    import random

    from test_git_oracle import build

    repo, plan = build(tmp_path / "r", 500 + seed)
    g = gitgraph.read_graph(str(repo.path))
    gen = walk.generations(g)
    rng = random.Random(seed)
    for _ in range(40):
        a, b = rng.randrange(len(g)), rng.randrange(len(g))
        sa, sb = g.shas[a].decode(), g.shas[b].decode()
        truth = subprocess.run(["git", "-C", str(repo.path), "merge-base", "--is-ancestor", sa, sb]).returncode == 0
        assert walk.reaches(g, gen, b, a) == truth, (sa, sb)
        expected = set(repo.git("rev-list", sb, f"^{sa}").split())
        assert {g.shas[i].decode() for i in walk.only_reachable(g, gen, [b], [a])} == expected


def test_hostile_author_names_do_not_shift_records(tmp_path):
    """Author names that look like markers, subjects or revert trailers never reach a message fact, and no name
    is kept: the names are only matched by the exclusion rules."""
    from hivepulse.sources.git.exclude import compile_rules

    repo = GitRepo(tmp_path / "r")
    target = repo.commit("feat: target", "2024-01-01T00:00:00Z")
    odd = [("\x01feat: spoofed", "a@example.invalid"), (f"This reverts commit {target}", "b@example.invalid"),
           ("x (#77)", "c@example.invalid"), ("Merge branch 'hotfix/x'", "d@example.invalid")]  # fmt: skip
    shas = [repo.commit("plain subject", f"2024-01-0{k + 2}T00:00:00Z", author=who) for k, who in enumerate(odd)]
    rules = compile_rules(False, ("spoofed",), ())
    g = gitgraph.read_graph(str(repo.path), rules=rules)
    assert len(g) == 5 and g.reverts == {} and g.merge_subjects == {}
    assert [g.types[g.index[s.encode()]] for s in shas] == [None] * 4
    assert [int(g.pr_numbers[g.index[s.encode()]]) for s in shas] == [-1] * 4
    assert [g.exclusion_names[int(g.excluded[g.index[s.encode()]]) - 1] if g.excluded[g.index[s.encode()]] else None
            for s in shas] == ["--exclude-author #1", None, None, None]  # fmt: skip
    assert "spoofed" not in repr(g.__dict__)
