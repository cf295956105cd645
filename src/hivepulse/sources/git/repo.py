"""Running git and opening a repository: :func:`git` (one command, its output, a one-line
:class:`~hivepulse.errors.SourceError` on failure) and :func:`open_repo` (:class:`RepoInfo`: work tree or bare,
shallow or not)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO

from hivepulse.errors import SourceError

GIT_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"}
REV_ARGS = ("--branches", "--tags", "--remotes")
"""What the graph covers: every local branch, tag and remote-tracking branch (not stash, notes or a
detached HEAD that no ref names)."""
LOG_FORMAT = "%H%x00%P%x00%ct%x00%at%x00%x01%B"
"""Fields of one record (records end with NUL under ``-z``); the message follows a \\x01 marker so that
patterns anchored at ``\\x00\\x01`` can match at the start of a subject. Record boundaries come from counting
NULs (a field never holds one), so no byte of a name or message can shift them."""
LOG_FORMAT_AUTHORS = "%H%x00%P%x00%ct%x00%at%x00%an <%ae>%x00%x01%B"
"""With the author's ``Name <e-mail>``, read only to apply the bot and ``--exclude-author`` rules: the parser
keeps the number of the rule that matched, never the text."""
LOG_FIELDS = 5
REFS_FORMAT = "%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)%00%(taggerdate:unix)"


def _first_error(path: str, what: str, stderr: bytes, returncode: int) -> SourceError:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    first = next((line for line in lines if line.startswith("fatal:")), lines[0] if lines else "")
    return SourceError(f"{path}: git {what} failed: {first.removeprefix('fatal: ') or returncode}")


@dataclass
class Running:
    """A git command running with its output going to an unlinked temporary file (git never waits on a full
    pipe; the reader may read what is already written while git goes on: :attr:`out`)."""

    path: str
    what: str
    proc: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]

    def finished(self) -> bool:
        return self.proc.poll() is not None

    def check(self) -> None:
        """Wait for git; raise :class:`SourceError` with git's first error line when it failed."""
        self.proc.wait()
        if self.proc.returncode != 0:
            self.err.seek(0)
            raise _first_error(self.path, self.what, self.err.read(), self.proc.returncode)

    def output(self) -> bytes:
        """All of stdout after git finished (raises like :meth:`check`); closes the files."""
        try:
            self.check()
            self.out.seek(0)
            return self.out.read()
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.err.close()


def start_git(path: str, *args: str) -> Running:
    """Start ``git -C path args...`` with stdout and stderr in temporary files (see :class:`Running`)."""
    env = dict(os.environ)
    env.update(GIT_ENV)
    cmd = ["git", "-C", path, "--no-pager", "-c", "log.showSignature=false", *args]
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    except FileNotFoundError as exc:
        out.close()
        err.close()
        raise SourceError("git is not installed (no 'git' on PATH)") from exc
    return Running(path, args[0], proc, out, err)


def git(path: str, *args: str, check: bool = True, input: bytes | None = None) -> bytes:
    """Run ``git -C path args...`` and return stdout (bytes). Failures raise :class:`SourceError`.

    stdout is read with one blocking read (large outputs arrive at pipe speed); stderr goes to a temporary
    file so that it can never block the child.
    """
    env = dict(os.environ)
    env.update(GIT_ENV)
    cmd = ["git", "-C", path, "--no-pager", "-c", "log.showSignature=false", *args]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=err, env=env,
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise SourceError("git is not installed (no 'git' on PATH)") from exc
        if input is not None:
            out, _ = proc.communicate(input)
        else:
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.stdout.close()
            proc.wait()
        if check and proc.returncode != 0:
            err.seek(0)
            raise _first_error(path, args[0], err.read(), proc.returncode)
    return out


@dataclass(frozen=True)
class RepoInfo:
    """Where the repository lives and what kind it is."""

    path: str
    git_dir: str
    bare: bool
    shallow: bool
    shallow_commits: tuple[str, ...] = ()
    """SHAs at which a shallow clone's history is cut (their parents are missing)."""


def open_repo(path: str | os.PathLike[str]) -> RepoInfo:
    """Check that ``path`` is a git repository (work tree or bare). Raises :class:`SourceError` otherwise."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise SourceError(f"{path}: no such directory")
    if not os.path.isdir(path):
        raise SourceError(f"{path}: not a directory (expected a git repository)")
    try:
        out = git(path, "rev-parse", "--absolute-git-dir", "--is-bare-repository", "--is-shallow-repository")
    except SourceError as exc:
        if "not a git repository" in str(exc):
            raise SourceError(f"{path}: not a git repository") from None
        raise
    lines = out.decode("utf-8", "replace").splitlines()
    if len(lines) < 3:
        raise SourceError(f"{path}: could not read the repository (git rev-parse said {out!r})")
    git_dir, bare, shallow = lines[0], lines[1] == "true", lines[2] == "true"
    cut: tuple[str, ...] = ()
    if shallow:
        try:
            with open(os.path.join(git_dir, "shallow"), encoding="ascii", errors="replace") as fh:
                cut = tuple(line.strip() for line in fh if line.strip())
        except OSError:
            cut = ()
    return RepoInfo(path=path, git_dir=git_dir, bare=bare, shallow=shallow, shallow_commits=cut)


def log_format(read_authors: bool) -> tuple[str, int]:
    """The ``git log --format`` of the graph and its number of fields per record."""
    return (LOG_FORMAT_AUTHORS, LOG_FIELDS + 1) if read_authors else (LOG_FORMAT, LOG_FIELDS)


def start_log(path: str, read_authors: bool = False, revs: tuple[str, ...] = REV_ARGS) -> Running:
    """Start the one ``git log`` of the commit graph (collected by :func:`hivepulse.sources.git.graph.collect_graph`)
    over ``revs`` (default every branch, tag and remote)."""
    return start_git(path, "log", *revs, "-z", f"--format={log_format(read_authors)[0]}", "--")


def start_refs(path: str) -> Running:
    """Start the one ``git for-each-ref`` of the tags and branch tips (:func:`hivepulse.sources.git.graph.parse_refs`)."""
    return start_git(path, "for-each-ref", f"--format={REFS_FORMAT}", "refs/tags", "refs/heads", "refs/remotes")


def start_path_log(path: str, pathspecs: tuple[str, ...]) -> Running:
    """Start ``git log --full-history --format=%H -- PATHSPEC...``: the commits (of the same refs as the graph)
    that change one of the paths against a parent; one process for the whole history."""
    return start_git(path, "log", *REV_ARGS, "--full-history", "--format=%H", "--", *pathspecs)
