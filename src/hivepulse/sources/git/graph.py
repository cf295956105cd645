"""Low-level reading of a git repository: the commit graph, tags and branch tips, in a few ``git`` calls.

Everything here is fast and allocation-light so that reading an 80,000-commit history costs about as much as
``git log`` itself:

- :func:`read_graph` runs one ``git log --branches --tags --remotes -z`` whose records carry sha, parents,
  committer time, author time and the raw message, builds integer-indexed numpy arrays (CSR parent lists) and
  extracts the message facts (Conventional Commits type, breaking marks, PR numbers, merge subjects, ``This
  reverts commit <sha>`` trailers) by scanning the whole output with a few regexes, not commit by commit. It
  never asks git for author or committer names or e-mails.
- :func:`read_refs` runs one ``git for-each-ref`` for tags (with their tagger dates and peeled targets) and
  branch tips.

The walks over the graph (who claims which commit) are in :mod:`hivepulse.sources.git.walk`; running git and
opening the repository in :mod:`hivepulse.sources.git.repo`.

All times are integer seconds since the epoch (UTC), as git stores them; time-zone offsets do not matter.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hivepulse.errors import SourceError
from hivepulse.sources.git.repo import git

REVERT_RE = re.compile(rb"This reverts commit ([0-9a-fA-F]{7,64})")
REV_ARGS = ("--branches", "--tags", "--remotes")
"""What the graph covers: every local branch, tag and remote-tracking branch (not stash, notes or a
detached HEAD that no ref names)."""


@dataclass
class CommitGraph:
    """The commits of the repository as parallel arrays, indexed 0..n-1 in ``git log`` order (newest first).

    ``parents_of(i)`` is ``parent_idx[parent_ptr[i]:parent_ptr[i+1]]`` (CSR layout). Parents outside the graph
    (a shallow clone's cut) are dropped and counted in ``missing_parents``. Message-derived facts are kept as
    arrays too; the messages themselves are not kept.
    """

    shas: list[bytes]
    """40-hex (or 64-hex for SHA-256 repositories) commit ids, ASCII bytes."""
    index: dict[bytes, int]
    parent_ptr: np.ndarray
    parent_idx: np.ndarray
    committer_time: np.ndarray
    """int64 seconds since the epoch (UTC)."""
    author_time: np.ndarray
    n_parents: np.ndarray
    """Number of parents *recorded in the commit* (before dropping missing ones): >= 2 means merge."""
    types: np.ndarray
    """Conventional Commits type of the subject, lower case (object array; None when the subject has none;
    ``revert`` for git's ``Revert "..."`` subjects)."""
    breaking: np.ndarray
    """bool: ``type!:`` in the subject or a ``BREAKING CHANGE:`` / ``BREAKING-CHANGE:`` footer line."""
    pr_numbers: np.ndarray
    """int64 pull-request number from a ``(#123)`` subject suffix or ``Merge pull request #123``; -1 if none."""
    merge_subjects: dict[int, bytes]
    """First line of every commit whose subject starts with ``Merge `` (for hotfix-branch detection)."""
    reverts: dict[int, list[bytes]]
    """revert commit index -> reverted SHAs as written (maybe abbreviated), from ``This reverts commit <sha>``."""
    missing_parents: int = 0
    bad_dates: int = 0
    """Commits with a committer or author date git cannot print (before 1970, malformed): the other date is
    used, or 0 (1970-01-01) when neither is readable."""
    subjects: list[bytes] = dataclasses.field(default_factory=list)
    """The subject (first message line, raw bytes) of every commit, in index order; empty when unknown."""

    def __len__(self) -> int:
        return len(self.shas)

    def resolve(self, sha: str | bytes) -> int | None:
        """Index of a full or abbreviated (>= 7 hex) SHA, or None when absent or ambiguous."""
        key = sha.lower().encode("ascii") if isinstance(sha, str) else sha.lower()
        i = self.index.get(key)
        if i is not None or len(key) >= 40:
            return i
        hits = [j for s, j in self.index.items() if s.startswith(key)]  # rare path: abbreviated ids
        return hits[0] if len(hits) == 1 else None

    def hex(self) -> list[str]:
        """All SHAs as str, in index order."""
        return b"\0".join(self.shas).decode("ascii").split("\0") if self.shas else []


LOG_FORMAT = "%H%x00%P%x00%ct%x00%at%x00%x01%B"
"""Fields of one record (records end with NUL under ``-z``); the message follows a \\x01 marker so that
patterns anchored at ``\\x00\\x01`` match only at the start of a subject."""
LOG_FIELDS = 5
_CONVENTIONAL = re.compile(rb"\x00\x01[ \t]*([A-Za-z][A-Za-z0-9_-]{0,19})(?:\([^)\n\x00]*\))?(!)?:[ \t]")
_REVERT_SUBJECT = re.compile(rb'\x00\x01Revert "')
_MERGE_SUBJECT = re.compile(rb"\x00\x01(Merge [^\n\x00]*)")
_PR_SUFFIX = re.compile(rb"\(#(\d{1,9})\)[ \t]*[\n\x00]")
_PR_MERGE = re.compile(rb"\x00\x01Merge pull request #(\d{1,9})\b")
_BREAKING = re.compile(rb"BREAKING[ -]CHANGE:")
_SUBJECT = re.compile(rb"\x00\x01([^\n\x00]*)")


@dataclass
class _Part:
    """Records parsed from one chunk of ``git log`` output (record numbers local to the chunk)."""

    shas: list[bytes]
    parents: list[bytes]
    committer_time: np.ndarray
    author_time: np.ndarray
    types: np.ndarray
    breaking: np.ndarray
    pr_numbers: np.ndarray
    merge_subjects: dict[int, bytes]
    reverts: dict[int, list[bytes]]
    bad_dates: int = 0
    subjects: list[bytes] = dataclasses.field(default_factory=list)


def _epochs(values: list[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
    """Epoch seconds as int64, and a mask of the values git printed empty or unreadable (None if all good).

    git prints an empty ``%ct`` / ``%at`` for a date it cannot represent (a negative epoch, i.e. before 1970,
    or a malformed header); such entries are 0 here and flagged.
    """
    try:
        return np.asarray(values, dtype=np.int64) if values else np.zeros(0, np.int64), None
    except ValueError:
        good = np.fromiter((v.strip().lstrip(b"-").isdigit() for v in values), dtype=bool, count=len(values))
        out = np.asarray([int(v) if g else 0 for v, g in zip(values, good, strict=True)], dtype=np.int64)
        return out, ~good


def _parse_part(out: bytes) -> _Part:
    """Parse whole records (``out`` must end at a record boundary)."""
    fields = out.split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()
    if len(fields) % LOG_FIELDS:
        raise SourceError("unexpected git log output (a message with a NUL byte?)")
    shas = fields[0::LOG_FIELDS]
    n = len(shas)

    # message facts: scan the chunk once per pattern (C speed), then map match offsets to records
    buf = np.frombuffer(out, dtype=np.uint8)
    marks = np.flatnonzero(buf == 1)
    body_start = marks[buf[marks - 1] == 0]  # offset of the \x01 marker that starts each record's message
    if len(body_start) != n:
        raise SourceError("unexpected git log output (message markers do not match the commits)")

    def records(positions: list[int]) -> np.ndarray:
        return np.searchsorted(body_start, np.asarray(positions, dtype=np.int64), side="right") - 1

    types = np.full(n, None, dtype=object)
    breaking = np.zeros(n, dtype=bool)
    hits = [(m.start() + 1, m.group(1), m.group(2)) for m in _CONVENTIONAL.finditer(out)]
    if hits:
        at = records([h[0] for h in hits])
        words = [h[1] for h in hits]
        lower = {word: word.decode("ascii").lower() for word in set(words)}
        types[at] = [lower[w] for w in words]
        bang = np.fromiter((h[2] is not None for h in hits), dtype=bool, count=len(hits))
        breaking[at[bang]] = True
    rev = [m.start() + 1 for m in _REVERT_SUBJECT.finditer(out)]
    if rev:
        types[records(rev)] = "revert"
    footer = [m.start() for m in _BREAKING.finditer(out) if m.start() and out[m.start() - 1] in b"\n\x01"]
    if footer:
        breaking[records(footer)] = True
    prs = np.full(n, -1, dtype=np.int64)
    suffix = [(m.start(), int(m.group(1))) for m in _PR_SUFFIX.finditer(out)]
    if suffix:
        at = records([p for p, _ in suffix])
        for i, (pos, number) in zip(at.tolist(), suffix, strict=True):
            if i >= 0 and out.find(b"\n", int(body_start[i]), pos) < 0:  # on the subject line
                prs[i] = number
    merges = [(m.start() + 1, m.group(1)) for m in _MERGE_SUBJECT.finditer(out)]
    merge_subjects = dict(zip(records([p for p, _ in merges]).tolist(), [t for _, t in merges], strict=True))
    pr_merge = [(m.start() + 1, int(m.group(1))) for m in _PR_MERGE.finditer(out)]
    if pr_merge:
        prs[records([p for p, _ in pr_merge])] = [v for _, v in pr_merge]
    subjects = [m.group(1) for m in _SUBJECT.finditer(out)]
    if len(subjects) != n:  # a marker inside a message: no subjects rather than misaligned ones
        subjects = []
    reverts: dict[int, list[bytes]] = {}
    trailers = [(m.start(), m.group(1).lower()) for m in REVERT_RE.finditer(out)]
    for i, (_, target) in zip(records([p for p, _ in trailers]).tolist(), trailers, strict=True):
        reverts.setdefault(i, []).append(target)
    committer_time, bad_ct = _epochs(fields[2::LOG_FIELDS])
    author_time, bad_at = _epochs(fields[3::LOG_FIELDS])
    bad_dates = 0
    if bad_ct is not None or bad_at is not None:  # a date git cannot print: take the other one, else 0
        no_ct = bad_ct if bad_ct is not None else np.zeros(n, dtype=bool)
        no_at = bad_at if bad_at is not None else np.zeros(n, dtype=bool)
        committer_time[no_ct] = np.where(no_at[no_ct], 0, author_time[no_ct])
        author_time[no_at] = np.where(no_ct[no_at], 0, committer_time[no_at])
        bad_dates = int((no_ct | no_at).sum())
    return _Part(
        shas=shas,
        parents=fields[1::LOG_FIELDS],
        committer_time=committer_time,
        author_time=author_time,
        bad_dates=bad_dates,
        types=types,
        breaking=breaking,
        pr_numbers=prs,
        merge_subjects=merge_subjects,
        reverts=reverts,
        subjects=subjects,
    )


def _assemble(parts: list[_Part]) -> CommitGraph:
    """Join chunk results and resolve parents to indices (CSR arrays)."""
    shas = [s for p in parts for s in p.shas] if len(parts) != 1 else parts[0].shas
    parent_fields = [s for p in parts for s in p.parents] if len(parts) != 1 else parts[0].parents
    n = len(shas)
    index = dict(zip(shas, range(n), strict=True))
    # parents: "p1 p2 ..." -> CSR arrays, vectorized (one dict lookup per edge, in C via map)
    plen = np.fromiter(map(len, parent_fields), dtype=np.int64, count=n)
    hexlen = len(shas[0]) if n else 40
    counts = ((plen + 1) // (hexlen + 1)).astype(np.int32)
    found = list(map(index.get, b" ".join(parent_fields).split()))
    missing = 0
    stored: np.ndarray
    if None in found:
        keep = np.fromiter((f is not None for f in found), dtype=bool, count=len(found))
        missing = int((~keep).sum())
        owner_of_edge = np.repeat(np.arange(n), counts)
        stored = np.bincount(owner_of_edge[keep], minlength=n)
        flat = np.asarray([f for f in found if f is not None], dtype=np.int32)
    else:
        stored = counts
        flat = np.asarray(found, dtype=np.int32)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(stored, out=ptr[1:])
    merge_subjects: dict[int, bytes] = {}
    reverts: dict[int, list[bytes]] = {}
    offset = 0
    for p in parts:
        merge_subjects.update((i + offset, t) for i, t in p.merge_subjects.items())
        reverts.update((i + offset, t) for i, t in p.reverts.items())
        offset += len(p.shas)

    def cat(name: str, dtype: npt.DTypeLike) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

    return CommitGraph(
        shas=shas,
        index=index,
        parent_ptr=ptr,
        parent_idx=flat,
        committer_time=cat("committer_time", np.int64),
        author_time=cat("author_time", np.int64),
        n_parents=counts,
        types=cat("types", object),
        breaking=cat("breaking", bool),
        pr_numbers=cat("pr_numbers", np.int64),
        merge_subjects=merge_subjects,
        reverts=reverts,
        missing_parents=missing,
        bad_dates=sum(p.bad_dates for p in parts),
        subjects=[s for p in parts for s in p.subjects] if all(len(p.subjects) == len(p.shas) for p in parts) else [],
    )


def _complete_prefix(buf: bytes) -> int:
    """Length of the longest prefix of ``buf`` made of whole records (0 if none is known to be complete).

    The last message marker (``\\x00\\x01``) starts a record that may be cut; that record begins after the
    fifth NUL before the marker (four header NULs, then the previous record's terminator).
    """
    m = buf.rfind(b"\x00\x01")
    if m < 0:
        return 0
    pos = m + 1
    for _ in range(LOG_FIELDS):
        pos = buf.rfind(b"\x00", 0, pos)
        if pos < 0:
            return 0
    return pos + 1


CHUNK_BYTES = 4 << 20


def _parse_log(out: bytes) -> CommitGraph:
    """Parse a complete ``git log`` output (used by tests and small inputs)."""
    return _assemble([_parse_part(out)])


def read_graph(path: str, *, chunk_bytes: int = CHUNK_BYTES, revs: tuple[str, ...] = REV_ARGS) -> CommitGraph:
    """Read the whole commit graph and the message facts with one ``git log`` (no names, no e-mails).

    ``revs``: what to walk (default :data:`REV_ARGS`, every branch, tag and remote); release notes pass
    ``(head_sha, "^" + tag_sha)`` for the commits since a tag (full SHAs only: never a user's text, which git
    could read as an option).

    git writes to an unlinked temporary file (it never waits on a full pipe) while this process parses the
    whole records already written, chunk by chunk, so parsing overlaps git's own walk on a second core.
    """
    cmd = ["git", "-C", path, "--no-pager", "-c", "log.showSignature=false", "log", *revs, "-z",
           f"--format={LOG_FORMAT}", "--"]  # fmt: skip
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"})
    parts: list[_Part] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        except FileNotFoundError as exc:
            raise SourceError("git is not installed (no 'git' on PATH)") from exc
        fd = out.fileno()
        pos, pending = 0, b""
        while True:
            finished = proc.poll() is not None
            chunk = os.pread(fd, chunk_bytes, pos)  # pread: the shared file offset is git's, not ours
            if chunk:
                pos += len(chunk)
                data = pending + chunk if pending else chunk
                cut = _complete_prefix(data)
                if cut:
                    parts.append(_parse_part(data[:cut]))
                pending = data[cut:]
                continue
            if finished:
                break
            time.sleep(0.002)
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            first = next((line for line in lines if line.startswith("fatal:")), lines[0] if lines else "")
            raise SourceError(f"{path}: git log failed: {first.removeprefix('fatal: ') or proc.returncode}")
    if pending:
        parts.append(_parse_part(pending))
    return _assemble(parts)


@dataclass(frozen=True)
class TagRef:
    """One tag: its short name, what it finally points at, and its date.

    ``target_type`` is ``commit``, ``tree``, ``blob`` (or ``tag`` when a nested tag could not be peeled).
    ``tagger_time`` is the tagger date of an annotated tag (None for lightweight tags or a tag object without a
    tagger line).
    """

    name: str
    target: str
    target_type: str
    annotated: bool
    tagger_time: int | None


@dataclass
class Refs:
    tags: list[TagRef]
    branches: dict[str, str]
    """short branch name (``main``, ``origin/main``) and full ref name -> tip SHA."""


def read_refs(path: str) -> Refs:
    """All tags (peeled to their final object) and branch tips, from one ``git for-each-ref``."""
    fmt = "%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)%00%(taggerdate:unix)"
    out = git(path, "for-each-ref", f"--format={fmt}", "refs/tags", "refs/heads", "refs/remotes")
    tags: list[TagRef] = []
    branches: dict[str, str] = {}
    nested: list[tuple[str, str, int | None]] = []
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split("\0")
        if len(parts) != 6:
            continue
        ref, obj, otype, peeled, ptype, tdate = parts
        if ref.startswith("refs/tags/"):
            name = ref[len("refs/tags/") :]
            tagger = int(tdate) if tdate.strip().lstrip("-").isdigit() else None
            if otype != "tag":
                tags.append(TagRef(name, obj, otype, False, None))
            elif ptype == "tag":
                nested.append((name, ref, tagger))
            else:
                tags.append(TagRef(name, peeled, ptype, True, tagger))
        elif otype == "commit":
            short = ref.split("/", 2)[2]
            branches[short] = obj
            branches[ref] = obj
    if nested:  # tags of tags: peel fully in one batch
        query = "".join(f"{ref}^{{}}\n" for _, ref, _ in nested).encode()
        answer = git(path, "cat-file", "--batch-check", input=query).decode("utf-8", "replace").splitlines()
        for (name, _ref, tagger), row in zip(nested, answer, strict=False):
            bits = row.split()
            if len(bits) >= 2 and bits[1] != "missing":
                tags.append(TagRef(name, bits[0], bits[1], True, tagger))
            else:
                tags.append(TagRef(name, "", "tag", True, tagger))
    return Refs(tags=tags, branches=branches)
