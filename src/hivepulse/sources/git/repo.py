"""Running git and opening a repository: :func:`git` (one command, its output, a one-line
:class:`~hivepulse.errors.SourceError` on failure) and :func:`open_repo` (:class:`RepoInfo`: work tree or bare,
shallow or not)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass

from hivepulse.errors import SourceError


def git(path: str, *args: str, check: bool = True, input: bytes | None = None) -> bytes:
    """Run ``git -C path args...`` and return stdout (bytes). Failures raise :class:`SourceError`.

    stdout is read with one blocking read (large outputs arrive at pipe speed); stderr goes to a temporary
    file so that it can never block the child.
    """
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"})
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
            message = err.read().decode("utf-8", "replace").strip().splitlines()
            first = next(
                (line for line in message if line.startswith("fatal:")), message[0] if message else ""
            )
            raise SourceError(
                f"{path}: git {args[0]} failed: {first.removeprefix('fatal: ') or proc.returncode}"
            )
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
