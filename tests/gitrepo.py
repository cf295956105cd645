"""Script real, dated git repositories for tests (no mocks).

``GitRepo`` drives porcelain git with ``GIT_AUTHOR_DATE`` / ``GIT_COMMITTER_DATE`` set per command and a
planted author identity (``PLANTED_NAME`` / ``PLANTED_EMAIL``) that tests assert never reaches any output.
``fast_import`` builds larger repositories in one ``git fast-import`` run.

Dates are ISO 8601 strings with an explicit offset (``2024-03-01T10:00:00+05:30``); git stores them as epoch
seconds plus the offset, and hivepulse must report them in UTC.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PLANTED_NAME = "Zebulon Plantedname"
PLANTED_EMAIL = "zebulon.planted@example.invalid"
TAGGER_NAME = "Quintessa Tagwriter"
TAGGER_EMAIL = "quintessa.tagger@example.invalid"


def _env(when: str | None, tag_when: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ.get("HOME", "/tmp")})
    if when:
        env["GIT_AUTHOR_DATE"] = when
        env["GIT_COMMITTER_DATE"] = when
    if tag_when:
        env["GIT_COMMITTER_DATE"] = tag_when  # git uses the committer date as the tagger date
    return env


class GitRepo:
    """A repository in ``path`` with helpers that return full SHAs."""

    def __init__(self, path: str | os.PathLike[str], *, bare: bool = False, init: bool = True) -> None:
        self.path = Path(path)
        self._n = 0
        if init:
            self.path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def git(self, *args: str, when: str | None = None, tag_when: str | None = None, name: str = PLANTED_NAME,
            email: str = PLANTED_EMAIL, input: bytes | None = None) -> str:  # fmt: skip
        cmd = ["git", "-C", str(self.path), "-c", f"user.name={name}", "-c", f"user.email={email}",
               "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "advice.detachedHead=false",
               "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", *args]  # fmt: skip
        proc = subprocess.run(cmd, env=_env(when, tag_when), capture_output=True, input=input)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "replace").strip()

    def rev(self, what: str = "HEAD") -> str:
        return self.git("rev-parse", what)

    def commit(self, message: str | bytes, when: str, *, file: str | None = None,
               author: tuple[str, str] = (PLANTED_NAME, PLANTED_EMAIL)) -> str:  # fmt: skip
        """Add a line to ``file`` (default: a new file per commit, so reverts never conflict; a path with
        directories creates them) and commit it with author and committer dates = ``when`` and the identity
        ``author`` (name, e-mail); return the SHA."""
        self._n += 1
        name = file or f"change{self._n}.txt"
        (self.path / name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.path / name, "a", encoding="utf-8") as fh:
            fh.write(f"change {self._n}\n")
        self.git("add", name)
        who = {"name": author[0], "email": author[1]}
        if isinstance(message, bytes):
            self.git("commit", "-q", "-F", "-", when=when, input=message, **who)
        else:
            self.git("commit", "-q", "-m", message, when=when, **who)
        return self.rev()

    def subtree_add(self, prefix: str, other: GitRepo, ref: str, when: str) -> str:
        """``git subtree add --prefix=PREFIX OTHER REF``: a merge whose second parent is ``other``'s history
        (another root). Where git's subtree command is missing, the same two-parent merge is made by hand."""
        probe = subprocess.run(["git", "subtree"], capture_output=True)
        if probe.returncode in (0, 1, 129) and b"usage" in probe.stdout + probe.stderr:
            self.git("subtree", "add", f"--prefix={prefix}", str(other.path), ref, when=when)
        else:  # pragma: no cover - git without contrib/subtree
            self.git("fetch", "-q", str(other.path), ref)
            self.git("merge", "-q", "-s", "ours", "--no-commit", "--allow-unrelated-histories", "FETCH_HEAD")
            self.git("read-tree", f"--prefix={prefix}/", "-u", "FETCH_HEAD")
            self.git("commit", "-q", "-m", f"Add '{prefix}/' from commit FETCH_HEAD", when=when)
        return self.rev()

    def checkout(self, branch: str, *, new: bool = False, start: str | None = None) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), branch, *([start] if start else []))

    def merge(self, branch: str, when: str, *, message: str | None = None) -> str:
        """A true merge commit (``--no-ff``)."""
        self.git("merge", "-q", "--no-ff", "-m", message or f"Merge branch '{branch}'", branch, when=when)
        return self.rev()

    def squash_merge(self, branch: str, when: str, message: str) -> str:
        """``git merge --squash`` + commit: one ordinary commit carrying the branch's changes."""
        self.git("merge", "-q", "--squash", branch, when=when)
        self.git("commit", "-q", "-m", message, when=when)
        return self.rev()

    def revert(self, sha: str, when: str) -> str:
        """``git revert`` (message ``Revert "..."`` + ``This reverts commit <sha>.``)."""
        self.git("revert", "--no-edit", sha, when=when)
        return self.rev()

    def tag(self, name: str, target: str = "HEAD", *, annotated_at: str | None = None) -> None:
        """Lightweight tag, or annotated when ``annotated_at`` (the tagger date) is given."""
        if annotated_at:
            self.git("tag", "-a", "-m", f"release {name}", name, target, tag_when=annotated_at,
                     name=TAGGER_NAME, email=TAGGER_EMAIL)  # fmt: skip
        else:
            self.git("tag", name, target)


def fast_import(path: str | os.PathLike[str], stream: str | bytes, *, bare: bool = False) -> GitRepo:
    """Create a repository at ``path`` from a ``git fast-import`` stream; returns it as a :class:`GitRepo`."""
    repo = GitRepo(path, bare=bare)
    data = stream.encode("utf-8") if isinstance(stream, str) else stream
    subprocess.run(["git", "-C", str(repo.path), "fast-import", "--quiet", "--done"], input=data, check=True,
                   env=_env(None), capture_output=True)  # fmt: skip
    return repo


def linear_stream(n: int, *, start: int = 1_700_000_000, step: int = 3600, tag_every: int = 0) -> str:
    """A fast-import stream of ``n`` linear commits on main, one per ``step`` seconds, lightweight tags
    ``v0.0.<k>`` every ``tag_every`` commits (0: none)."""
    out: list[str] = []
    for i in range(1, n + 1):
        msg = f"feat: change {i}\n"
        out.append(f"commit refs/heads/main\nmark :{i}\n")
        out.append(f"author {PLANTED_NAME} <{PLANTED_EMAIL}> {start + i * step} +0000\n")
        out.append(f"committer {PLANTED_NAME} <{PLANTED_EMAIL}> {start + i * step} +0000\n")
        out.append(f"data {len(msg.encode())}\n{msg}")
        if i > 1:
            out.append(f"from :{i - 1}\n")
        out.append(f"M 644 inline f.txt\ndata {len(str(i))}\n{i}\n\n")
        if tag_every and i % tag_every == 0:
            out.append(f"reset refs/tags/v0.0.{i // tag_every}\nfrom :{i}\n\n")
    out.append("done\n")
    return "".join(out)


def change_sets(events, environment_suffix: str = "") -> dict[str, set[str]]:
    """deployment_id -> set of change ids (SHAs) it shipped, from an EventSet's changes table."""
    ch = events.changes
    out: dict[str, set[str]] = {d: set() for d in events.deployments["deployment_id"]}
    for cid, dep in zip(ch["change_id"], ch["deployment_id"], strict=True):
        if isinstance(dep, str):
            out.setdefault(dep, set()).add(cid)
    return out


def undeployed(events) -> set[str]:
    ch = events.changes
    return set(ch.loc[ch["deployment_id"].isna(), "change_id"])


def row(frame, key: str, value: str) -> dict:
    """The one row of ``frame`` whose ``key`` column equals ``value``, as a dict."""
    hit = frame[frame[key] == value]
    assert len(hit) == 1, f"{key}={value!r}: {len(hit)} rows"
    return hit.iloc[0].to_dict()
