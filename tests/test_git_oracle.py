"""Oracle tests: hivepulse's git source against git itself, on seeded random repositories.

Each repository is built with one ``git fast-import`` run from a seeded random plan: a main line with feature
branches (true merges and fast-forwards), maintenance branches forked from old main commits, a second root merged
in (unrelated histories), commits sharing one timestamp, lightweight and annotated tags (tagger dates in mixed
offsets, some earlier than older tags), tags on side and maintenance branches, second tags on one commit,
rollback tags on old commits, hotfix tags and tags that are no deployment (``latest``, ``-rc1``,
``release-2024``).

The expected events are computed with git commands only, following docs/git-source.md:

- deployments and ``finished_at``: ``git for-each-ref --format=%(creatordate:unix)`` (tagger date of an
  annotated tag, committer date of a lightweight tag's commit) and ``git rev-parse TAG^{commit}``; deploy-branch
  mode: ``git rev-list --first-parent --format=%ct BRANCH``;
- order per environment: ``finished_at``, ties by ancestry (generation number, from ``git rev-list --parents``),
  then the commit's committer date, then ``deployment_id``; a deploy branch's commits keep their order along the
  branch;
- ``changes(D) = git rev-list --no-merges D --not E1 E2 ...`` over the earlier successful deployments E of D's
  environment, computed as the set difference ``rev-list D`` minus the union of ``rev-list E`` (git's own
  ``--not`` walk stops early on commit dates and is wrong under clock skew, e.g. a commit dated 1970 below
  newer ones); every other non-merge commit of ``git rev-list --branches --tags --remotes`` is undeployed;
- ``committed_at``: ``%ct`` (``--author-date``: ``%at``) from ``git log``;
- ``rollback_of``: D's commit is the commit of an earlier deployment of the environment, is not P's commit,
  and ``git merge-base --is-ancestor D P`` (P = the previous successful deployment of the environment); a tag
  on an old commit that no deployment deployed is a deployment that ships nothing, not a rollback (issue 11);
- imported history (issue 11): the commits whose first-parent line (``git rev-list --parents``) ends at a root
  that is the first-parent root of a merge's non-first parent whose merge has another first-parent root, and
  that no deployed commit has as its own first-parent root, are not changes (the second root merged in here);
- tags on the commit of the tag just before them in the environment's order are one deployment with it (the
  first keeps its id and finish time; the others are no deployment).
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, TAGGER_EMAIL, TAGGER_NAME, GitRepo, fast_import

from hivepulse.sources.git import GitOptions, read_git

OFFSETS = ("+0000", "+0530", "-0800", "+1400", "-1200", "+0100", "-0330", "+0545")
T0 = 1_700_000_000
TYPES = ("feat", "fix", "chore", "docs", "refactor", "feat!", "perf", "")


# ------------------------------------------------------------------------------------------- builder


@dataclass
class Plan:
    """A fast-import stream under construction plus what the test needs to know about it."""

    rng: random.Random
    out: list[bytes] = field(default_factory=list)
    mark: int = 0
    now: int = T0
    tips: dict[str, int] = field(default_factory=dict)  # branch -> mark of its tip
    main_line: list[int] = field(default_factory=list)  # marks on main's first-parent line, oldest first
    commits: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # deployment tag names (default rule)
    env_tags: list[str] = field(default_factory=list)  # deploy/{env}/N names
    noise: list[str] = field(default_factory=list)  # tags that are no deployment
    version: list[int] = field(default_factory=lambda: [1, 0, 0])

    def tick(self) -> int:
        r = self.rng.random()
        if r < 0.2:
            step = 0  # identical timestamps (rebase-merges, scripted commits)
        elif r < 0.25:
            step = -self.rng.randint(60, 7200)  # clock skew: older than the commit before
        else:
            step = self.rng.randint(60, 3 * 3600)
        self.now += step
        return self.now

    def commit(self, branch: str, *, parent: int | None = None, merge: int | None = None,
               when: int | None = None, message: bytes | None = None) -> int:  # fmt: skip
        """A commit on ``branch`` (``parent``: explicit first parent; none and a new branch: a root)."""
        self.mark += 1
        m = self.mark
        ct = self.tick() if when is None else when
        at = ct - self.rng.choice((0, 0, 0, 600, 86_400 * 3, -1800))  # author date: mostly = committer date
        if message is None:
            kind = self.rng.choice(TYPES)
            word = "Merge branch 'x'" if merge else (f"{kind}: change {m}" if kind else f"change {m}")
            message = word.encode() + b"\n"
        first = parent if parent is not None else self.tips.get(branch)
        self.out.append(
            b"commit refs/heads/%s\nmark :%d\nauthor %s <%s> %d %s\ncommitter %s <%s> %d %s\ndata %d\n%s"
            % (branch.encode(), m, PLANTED_NAME.encode(), PLANTED_EMAIL.encode(), at,
               self.rng.choice(OFFSETS).encode(), PLANTED_NAME.encode(), PLANTED_EMAIL.encode(), ct,
               self.rng.choice(OFFSETS).encode(), len(message), message)
        )  # fmt: skip
        if first is not None:
            self.out.append(b"from :%d\n" % first)
        if merge is not None:
            self.out.append(b"merge :%d\n" % merge)
        self.out.append(b"\n")
        self.tips[branch] = m
        self.commits.append(m)
        if branch == "main":
            self.main_line.append(m)
        return m

    def reset(self, branch: str, mark: int) -> None:
        self.out.append(b"reset refs/heads/%s\nfrom :%d\n\n" % (branch.encode(), mark))
        self.tips[branch] = mark

    def tag(self, name: str, mark: int, *, annotated: bool, date: int | None = None) -> None:
        if annotated:
            when = date if date is not None else self.now + self.rng.randint(-4 * 3600, 6 * 3600)
            text = f"release {name}\n".encode()
            self.out.append(
                b"tag %s\nfrom :%d\ntagger %s <%s> %d %s\ndata %d\n%s\n"
                % (name.encode(), mark, TAGGER_NAME.encode(), TAGGER_EMAIL.encode(), when,
                   self.rng.choice(OFFSETS).encode(), len(text), text)
            )  # fmt: skip
        else:
            self.out.append(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))

    def next_version(self, *, major: bool = False) -> str:
        v = self.version
        if major:
            v[0], v[1], v[2] = v[0] + 1, 0, 0
        elif self.rng.random() < 0.5:
            v[1], v[2] = v[1] + 1, 0
        else:
            v[2] += 1
        text = f"{v[0]}.{v[1]}.{v[2]}"
        return text if self.rng.random() < 0.2 else "v" + text

    def stream(self) -> bytes:
        return b"".join(self.out) + b"done\n"


def build(path: Path, seed: int, *, envs: bool = False) -> tuple[GitRepo, Plan]:
    """A random repository (see the module docstring) from ``seed``; ``envs`` also adds deploy/{env}/N tags."""
    rng = random.Random(seed)
    p = Plan(rng)
    p.commit("main")
    n_feature = n_maint = n_env = 0
    for _ in range(rng.randint(25, 45)):
        r = rng.random()
        if r < 0.35:
            p.commit("main")
        elif r < 0.55:  # feature branch: merged with a merge commit, or fast-forwarded
            n_feature += 1
            name = f"feature/{n_feature}"
            base = p.tips["main"]
            for k in range(rng.randint(1, 3)):
                p.commit(name, parent=base if k == 0 else None)
            if rng.random() < 0.3:
                p.commit("main")  # main moves on meanwhile
            if rng.random() < 0.25 and p.tips["main"] == base:
                p.reset("main", p.tips[name])  # fast-forward: the feature commits join the main line
                p.main_line.append(p.tips[name])
            else:
                p.commit("main", merge=p.tips[name])
        elif r < 0.62 and len(p.main_line) > 3:  # maintenance branch from an old main commit, tagged
            n_maint += 1
            name = f"maint/{n_maint}"
            base = rng.choice(p.main_line[:-1])
            for k in range(rng.randint(1, 2)):
                p.commit(name, parent=base if k == 0 else None)
            p.tags.append(p.next_version())
            p.tag(p.tags[-1], p.tips[name], annotated=rng.random() < 0.5)
        elif r < 0.67 and "feature/1" in p.tips:  # tag on an unmerged side branch tip
            n_feature += 1
            name = f"feature/{n_feature}"
            p.commit(name, parent=p.tips["main"])
            p.tags.append(p.next_version())
            p.tag(p.tags[-1], p.tips[name], annotated=rng.random() < 0.5)
        elif r < 0.72 and len(p.main_line) > 4:  # rollback: a new tag on an old main commit
            p.tags.append(p.next_version())
            p.tag(p.tags[-1], rng.choice(p.main_line[-5:-1]), annotated=rng.random() < 0.7,
                  date=p.now + rng.randint(0, 3600))  # fmt: skip
        elif r < 0.75 and p.tags:  # a second tag on an already tagged main tip, or a hotfix tag
            name = p.next_version()
            p.tags.append(name + "-hotfix" if rng.random() < 0.5 else name)
            p.tag(p.tags[-1], p.tips["main"], annotated=rng.random() < 0.5)
        elif r < 0.77 and "unrelated" not in p.tips:  # a second root, merged into main
            p.commit("unrelated", when=p.now - 86_400 * 30)
            p.commit("unrelated")
            p.commit("main", merge=p.tips["unrelated"])
        elif r < 0.80:  # a commit far in the past or future
            p.commit("main", when=rng.choice((0, 86_400, 4_102_444_800, 4_200_000_000)))
        else:  # release the main tip
            p.tags.append(p.next_version(major=rng.random() < 0.1))
            p.tag(p.tags[-1], p.tips["main"], annotated=rng.random() < 0.6)
        if envs and rng.random() < 0.35:
            n_env += 1
            env = rng.choice(("staging", "production", "staging"))
            p.env_tags.append(f"deploy/{env}/{n_env}")
            target = p.tips["main"] if rng.random() < 0.8 else rng.choice(p.commits)
            p.tag(p.env_tags[-1], target, annotated=rng.random() < 0.5)
    if not p.tags:
        p.tags.append(p.next_version())
        p.tag(p.tags[-1], p.tips["main"], annotated=False)
    for name, target in (("latest", p.tips["main"]), ("v9.9.9-rc1", p.tips["main"]),
                         ("release-2024", p.main_line[0]), ("nightly/2024-01-01", p.commits[-1])):  # fmt: skip
        p.noise.append(name)
        p.tag(name, target, annotated=rng.random() < 0.5)
    repo = fast_import(path, p.stream())
    return repo, p


# -------------------------------------------------------------------------------------------- oracle


def git_out(repo: GitRepo, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo.path), *args], capture_output=True, check=True)
    return proc.stdout.decode("ascii")


def generations(repo: GitRepo) -> dict[str, int]:
    """Generation number of every commit (1 + the largest generation of its parents; roots: 1)."""
    parents = {}
    for line in git_out(repo, "rev-list", "--parents", "--branches", "--tags", "--remotes").splitlines():
        sha, *ps = line.split()
        parents[sha] = ps
    gen: dict[str, int] = {}
    for sha in parents:  # iterative DFS (deep histories)
        stack = [sha]
        while stack:
            c = stack[-1]
            if c in gen:
                stack.pop()
                continue
            todo = [q for q in parents[c] if q not in gen]
            if todo:
                stack.extend(todo)
            else:
                gen[c] = 1 + max((gen[q] for q in parents[c]), default=0)
                stack.pop()
    return gen


@dataclass
class Expected:
    owner: dict[tuple[str, str], str]  # (environment, sha) -> deployment_id
    first: set[str]
    rollback_of: dict[str, str]
    finished: dict[str, int]
    commit: dict[str, str]
    imported: set[str]


def tag_deployments(repo: GitRepo, names: list[str]) -> list[tuple[str, int, str]]:
    """(tag, finished epoch, commit sha) from git: creatordate = tagger date or the commit's committer date."""
    fmt = "%(refname:strip=2)%00%(creatordate:unix)"
    created = dict(line.split("\0") for line in git_out(repo, "for-each-ref", f"--format={fmt}",
                                                         "refs/tags").splitlines())  # fmt: skip
    shas = git_out(repo, "rev-parse", *(f"refs/tags/{n}^{{commit}}" for n in names)).split()
    return [(n, int(created[n]), s) for n, s in zip(names, shas, strict=True)]


def imported_commits(repo: GitRepo, deployed: set[str]) -> set[str]:
    """Imported history by the documented rule, from ``git rev-list --parents`` (see the module docstring)."""
    parents: dict[str, list[str]] = {}
    for line in git_out(repo, "rev-list", "--parents", "--branches", "--tags", "--remotes").splitlines():
        sha, *ps = line.split()
        parents[sha] = ps
    root: dict[str, str] = {}
    for sha in parents:
        line, c = [], sha
        while c not in root and parents[c]:
            line.append(c)
            c = parents[c][0]
        end = root.get(c, c)
        for x in line + [c]:
            root[x] = end
    targets = {root[p] for m, ps in parents.items() if len(ps) > 1 for p in ps[1:] if root[p] != root[m]}
    targets -= {root[d] for d in deployed}
    return {c for c, r in root.items() if r in targets}


def oracle(repo: GitRepo, deployments: dict[str, list[tuple[str, int, str]]],
           sequence: dict[str, int] | None = None) -> Expected:  # fmt: skip
    """Expected owners per the documented rules, computed with git (``deployments``: env -> (id, finish, sha)).

    ``sequence`` (deploy-branch mode) gives each deployment's position along its branch: the order key is
    then the latest finish so far along the branch (a commit dated before its predecessor keeps its place).
    """
    gen = generations(repo)
    ct = dict(line.split() for line in git_out(repo, "log", "--branches", "--tags", "--remotes",
                                                 "--format=%H %ct").splitlines())  # fmt: skip
    counted = set(git_out(repo, "rev-list", "--no-merges", "--branches", "--tags", "--remotes").split())
    counted -= imported_commits(repo, {sha for rows in deployments.values() for _, _, sha in rows})
    cache: dict[str, set[str]] = {}

    def reach(sha: str) -> set[str]:
        if sha not in cache:
            cache[sha] = set(git_out(repo, "rev-list", sha, "--").split())
        return cache[sha]

    owner: dict[tuple[str, str], str] = {}
    first: set[str] = set()
    rollback_of: dict[str, str] = {}
    finished: dict[str, int] = {}
    commit: dict[str, str] = {}
    imported = set(git_out(repo, "rev-list", "--no-merges", "--branches", "--tags", "--remotes").split()) - counted
    for env, rows in deployments.items():
        key = {d: f for d, f, _ in rows}
        if sequence:
            running = None
            for d, f, _ in sorted(rows, key=lambda r: sequence[r[0]]):
                running = f if running is None else max(running, f)
                key[d] = running
        ordered = sorted(rows, key=lambda r: (key[r[0]], gen[r[2]], int(ct[r[2]]), r[0]))
        earlier: list[str] = []
        seen: set[str] = set()  # reachable from an earlier deployment of env
        prev: tuple[str, str] | None = None
        for d, f, sha in ordered:
            if prev is not None and sha == prev[1]:
                continue  # a tag on the commit of the tag just before it: the same deployment (merged)
            finished[d], commit[d] = f, sha
            for c in reach(sha) - seen:
                if c in counted:
                    owner[(env, c)] = d
            if not earlier:
                first.add(d)
            deployed_before = sha in earlier
            seen |= reach(sha)
            if prev is not None and deployed_before and sha != prev[1]:
                ok = subprocess.run(["git", "-C", str(repo.path), "merge-base", "--is-ancestor", sha, prev[1]],
                                    capture_output=True).returncode == 0  # fmt: skip
                if ok:
                    rollback_of[d] = prev[0]
            earlier.append(sha)
            prev = (d, sha)
    return Expected(owner, first, rollback_of, finished, commit, imported)


def check(repo: GitRepo, events, exp: Expected, *, primary: str = "production", author_date: bool = False):
    """Compare an EventSet with the oracle: deployments, finish times, change owners, commit times."""
    dep = events.deployments.set_index("deployment_id")
    assert set(dep.index) == set(exp.finished)
    for d, f in exp.finished.items():
        assert dep.at[d, "finished_at"] == pd.Timestamp(f, unit="s", tz="UTC"), d
        assert dep.at[d, "commit_sha"] == exp.commit[d], d
        assert bool(dep.at[d, "first_deployment"]) == (d in exp.first), d
    got_rb = {d: r for d, r in dep["rollback_of"].items() if isinstance(r, str)}
    assert got_rb == exp.rollback_of
    for d in exp.rollback_of:
        assert dep.at[d, "kind"] == "unplanned"

    times: dict[
        str, int
    ] = {}  # git prints an empty date it cannot read (before 1970): the other date is used
    for line in git_out(repo, "log", "--branches", "--tags", "--remotes", "--no-merges",
                        "--format=%H,%ct,%at").splitlines():  # fmt: skip
        sha, ct, at = line.split(",")
        first, other = (at, ct) if author_date else (ct, at)
        times[sha] = int(first or other or 0)
    ch = events.changes
    got: dict[tuple[str, str], str | None] = {}
    for cid, d, at in zip(ch["change_id"], ch["deployment_id"], ch["committed_at"], strict=True):
        sha, _, env = cid.partition("@")
        env = env or primary
        assert (env, sha) not in got, cid
        got[(env, sha)] = d if isinstance(d, str) else None
        assert at == pd.Timestamp(times[sha], unit="s", tz="UTC"), cid
    expected: dict[tuple[str, str], str | None] = {k: v for k, v in exp.owner.items()}
    for sha in times:  # every non-merge commit has a primary row, deployed or not; imported history has none
        if sha not in exp.imported:
            expected.setdefault((primary, sha), None)
    assert got.keys() == expected.keys()
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not wrong, f"{len(wrong)} change(s) owned wrongly, (env, sha): (got, expected): {wrong}"


# --------------------------------------------------------------------------------------------- tests

SEEDS = range(20)


@pytest.mark.parametrize("seed", SEEDS)
def test_tags_match_git(tmp_path: Path, seed: int) -> None:
    """Default tag rule and --author-date against git rev-list on a random repository."""
    repo, plan = build(tmp_path / "r", seed)
    exp = oracle(repo, {"production": tag_deployments(repo, plan.tags)})
    for author_date in (False, True):
        events = read_git(repo.path, GitOptions(author_date=author_date))
        check(repo, events, exp, author_date=author_date)
    assert not set(plan.noise) & set(events.deployments["deployment_id"])
    text = (
        events.deployments.to_csv() + events.changes.to_csv() + events.incidents.to_csv() + str(events.notes)
    )
    assert not any(p in text for p in (PLANTED_NAME, PLANTED_EMAIL, TAGGER_NAME, TAGGER_EMAIL, "Planted"))


@pytest.mark.parametrize("seed", SEEDS)
def test_deploy_branch_matches_git(tmp_path: Path, seed: int) -> None:
    """--deploy-branch main: every first-parent commit is a deployment (git rev-list --first-parent)."""
    repo, _ = build(tmp_path / "r", 1000 + seed)
    lines = git_out(repo, "rev-list", "--first-parent", "--reverse", "--format=%H %ct", "main").splitlines()
    chain = [line.split() for line in lines if not line.startswith("commit ")]
    rows = [(f"main@{sha[:12]}", int(t), sha) for sha, t in chain]
    exp = oracle(repo, {"production": rows}, sequence={d: k for k, (d, _, _) in enumerate(rows)})
    events = read_git(repo.path, GitOptions(deploy_branches=("main",)))
    check(repo, events, exp)
    assert not exp.rollback_of  # a branch only moves forward


@pytest.mark.parametrize("seed", range(8))
def test_environments_match_git(tmp_path: Path, seed: int) -> None:
    """deploy/{env}/N tags: each environment claims independently; other environments use <sha>@env ids."""
    repo, plan = build(tmp_path / "r", 2000 + seed, envs=True)
    found = tag_deployments(repo, plan.env_tags)
    by_env: dict[str, list[tuple[str, int, str]]] = {}
    for row in found:
        by_env.setdefault(row[0].split("/")[1], []).append(row)
    if not by_env:
        pytest.skip("this seed made no environment tags")
    exp = oracle(repo, by_env)
    events = read_git(repo.path, GitOptions(tag_patterns=("deploy/{env}/*",)))
    check(repo, events, exp)


# ------------------------------------------------------------------------------------ ordering fixes


def owners(events) -> dict[str, str | None]:
    """change_id -> deployment_id (None while undeployed)."""
    ch = events.changes
    return {
        c: d if isinstance(d, str) else None
        for c, d in zip(ch["change_id"], ch["deployment_id"], strict=True)
    }


def test_same_second_tags_ship_ancestor_first(tmp_path: Path) -> None:
    """Two lightweight tags on a parent and its child committed in the same second (a rebase-merge): the
    ancestor ships first whatever the names say; no spurious rollback."""
    repo = GitRepo(tmp_path / "r")
    when = "2024-03-01T10:00:00+05:30"
    a = repo.commit("feat: a", when)
    b = repo.commit("feat: b", when)  # same second as a, child of a
    repo.tag("v1.9.0", a)
    repo.tag("v1.10.0", b)  # sorts before v1.9.0 by name
    events = read_git(repo.path, GitOptions())
    owner = owners(events)
    assert owner == {a: "v1.9.0", b: "v1.10.0"}
    dep = events.deployments.set_index("deployment_id")
    assert dep["rollback_of"].isna().all()
    assert bool(dep.at["v1.9.0", "first_deployment"]) and not bool(dep.at["v1.10.0", "first_deployment"])


def test_deploy_branch_keeps_branch_order_under_ties_and_skew(tmp_path: Path) -> None:
    """Deploy branch whose first-parent commits share a second (GitHub rebase-merge) or go back in time (a
    skewed clock, a 1970 commit): each commit ships exactly itself, in branch order, and nothing is a rollback;
    finished_at stays each commit's committer date."""
    repo = GitRepo(tmp_path / "r")
    shas = [
        repo.commit("feat: one", "2024-03-01T10:00:00Z"),
        repo.commit("feat: two", "2024-03-01T10:00:00Z"),  # tie
        repo.commit("feat: three", "2024-03-01T10:00:00Z"),  # tie
        repo.commit("fix: skewed", "2024-02-01T09:00:00-08:00"),  # a month before its parent
        repo.commit("chore: epoch", "1970-01-02T00:00:00Z"),
        repo.commit("feat: last", "2024-03-02T10:00:00+14:00"),
    ]
    events = read_git(repo.path, GitOptions(deploy_branches=("main",)))
    owner = owners(events)
    assert owner == {s: f"main@{s[:12]}" for s in shas}
    dep = events.deployments.set_index("deployment_id")
    assert dep["rollback_of"].isna().all() and set(dep["kind"]) == {"planned"}
    assert dep.at[f"main@{shas[4][:12]}", "finished_at"] == pd.Timestamp("1970-01-02", tz="UTC")
    assert dep["first_deployment"].sum() == 1 and bool(dep.at[f"main@{shas[0][:12]}", "first_deployment"])


# ----------------------------------------------------------------------------------- real-world oddities


def test_oddities_give_defined_results(tmp_path: Path) -> None:
    """Non-semver tag names, a tag of a tag, commits dated 1970, 2100 and before 1970, a merge of unrelated
    histories (two roots) and a ~200 kB Latin-1 message without an encoding header: defined results, no
    traceback, and the CLI export works."""
    repo = GitRepo(tmp_path / "r")
    root = repo.commit("feat: start", "2024-01-01T00:00:00Z")
    repo.tag("release-2024", root)
    old = repo.commit("fix: dated 1970", "1970-01-01T00:00:05+00:00")
    future = repo.commit(
        "feat: dated 2100", "@4102516800 -0800"
    )  # 2100-01-01T12:00-08:00 (ISO stops at 2099)
    repo.tag("v1.0.0", annotated_at="2024-01-02T00:00:00+05:30")
    latin = b"fix: caf\xe9 cr\xe8me br\xfbl\xe9e\n\n" + b"Lorem ipsum \xe0 la \xe7a \xf1 \xfc\n" * 6000
    long_msg = repo.commit(latin, "2024-01-03T00:00:00Z")
    (repo.path / "enc.txt").write_text("x\n")
    repo.git("add", "enc.txt")
    repo.git("-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", "-", when="2024-01-03T01:00:00Z",
             input=b"feat(caf\xe9)!: cr\xe8me (#42)\n")  # an 'encoding ISO-8859-1' header; git re-encodes  # fmt: skip
    declared = repo.rev()
    assert "encoding ISO-8859-1" in repo.git("cat-file", "-p", declared)
    # a second root on its own branch, merged with --allow-unrelated-histories
    repo.git("checkout", "-q", "--orphan", "other")
    repo.git("rm", "-rqf", ".")
    other = repo.commit("feat: other root", "2023-06-01T00:00:00Z", file="other.txt")
    repo.checkout("main")
    repo.git("merge", "-q", "--no-ff", "--allow-unrelated-histories", "-m", "Merge branch 'other'", "other",
             when="2024-01-04T00:00:00Z")  # fmt: skip
    merge = repo.rev()
    repo.tag("v1.2.3-rc1", annotated_at="2024-01-04T01:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-01-04T02:00:00-03:30")
    repo.tag("v1.1.0-again", "v1.1.0", annotated_at="2024-01-05T00:00:00Z")  # a tag of a tag
    repo.tag("latest")
    # a commit dated before 1970 (git prints its date empty) via fast-import on a side branch
    parent = repo.rev()
    stream = (f"commit refs/heads/ancient\ncommitter X <x@example.invalid> -86400 +0000\ndata 15\n"
              f"chore: ancient\nfrom {parent}\n\ndone\n")  # fmt: skip
    subprocess.run(["git", "-C", str(repo.path), "fast-import", "--quiet", "--done"], input=stream.encode(),
                   check=True, capture_output=True)  # fmt: skip
    ancient = repo.rev("ancient")

    # default rule: only the semantic versions are deployments; v1.2.3-rc1, latest, release-2024 are not
    events = read_git(repo.path, GitOptions())
    dep = events.deployments.set_index("deployment_id")
    assert sorted(dep.index) == ["v1.0.0", "v1.1.0"]
    assert dep.at["v1.0.0", "finished_at"] == pd.Timestamp("2024-01-01T18:30:00Z")  # +05:30 -> UTC
    assert dep.at["v1.1.0", "finished_at"] == pd.Timestamp("2024-01-04T05:30:00Z")  # -03:30 -> UTC
    owner = owners(events)
    # the other root's commit is imported history (issue 11): no change unless --include-imported
    assert owner == {root: "v1.0.0", old: "v1.0.0", future: "v1.0.0", long_msg: "v1.1.0", declared: "v1.1.0",
                     ancient: None}  # fmt: skip
    assert any("1 commit(s) of imported history" in n for n in events.notes)
    assert owners(read_git(repo.path, GitOptions(include_imported=True)))[other] == "v1.1.0"
    ch = events.changes.set_index("change_id")
    assert ch.at[old, "committed_at"] == pd.Timestamp("1970-01-01T00:00:05Z")
    assert ch.at[future, "committed_at"] == pd.Timestamp("2100-01-01T20:00:00Z")
    assert ch.at[ancient, "committed_at"] == pd.Timestamp("1970-01-01T00:00:00Z")  # unreadable -> 0, noted
    assert ch.at[long_msg, "change_type"] == "fix"
    assert ch.at[declared, "change_type"] == "feat!" and ch.at[declared, "pr_number"] == 42
    assert any("cannot read" in n for n in events.notes)

    # every tag a deployment: the tag of a tag peels to the merge, finishing at the outer tagger date
    events = read_git(repo.path, GitOptions(tag_patterns=("*",), include_merges=True))
    dep = events.deployments.set_index("deployment_id")
    assert set(dep.index) == {"release-2024", "v1.0.0", "latest"}
    # latest (lightweight: the merge's committer date 00:00), v1.1.0 (05:30) and v1.1.0-again (Jan 5) all name
    # the merge commit: one deployment, the earliest tag, the others in a note; the pre-release v1.2.3-rc1 is
    # left out of the glob (issue 11: pre-releases are excluded from globs too, --include-prereleases)
    assert dep.at["latest", "finished_at"] == pd.Timestamp("2024-01-04T00:00:00Z")
    assert dep.at["latest", "commit_sha"] == merge
    assert any("v1.1.0 -> latest, v1.1.0-again -> latest" in n for n in events.notes)
    assert any("1 pre-release(s) (v1.2.3-rc1; --include-prereleases counts them)" in n for n in events.notes)
    events_outer = read_git(repo.path, GitOptions(tag_patterns=("v1.1.0-again:outer",)))
    outer = events_outer.deployments.set_index("deployment_id")
    assert outer.at["v1.1.0-again", "commit_sha"] == merge
    assert outer.at["v1.1.0-again", "finished_at"] == pd.Timestamp("2024-01-05T00:00:00Z")
    assert dep.at["release-2024", "first_deployment"]
    owner = owners(events)
    assert other not in owner and owner[long_msg] == "latest" and owner[merge] == "latest"
    assert set(owner.values()) == {"release-2024", "v1.0.0", "latest", None}
    assert dep["rollback_of"].isna().all()  # more tags on one commit are not rollbacks

    # through the CLI: exit 0, three files, no traceback
    from hivepulse.cli import main

    out = tmp_path / "events"
    assert main(["events", "export", "--git", str(repo.path), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"deployments.csv", "changes.csv", "incidents.csv"}
    for flags in (["--deploy-branch", "main"], ["--tag-pattern", "*"], ["--author-date"]):
        target = tmp_path / ("x" + "".join(flags).replace("-", "").replace("*", "all"))
        assert main(["events", "export", "--git", str(repo.path), "--out", str(target), *flags]) == 0
