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

import os
import re
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hivepulse.errors import SourceError
from hivepulse.sources.git.exclude import NO_EXCLUSION, ExclusionRules, author_rule
from hivepulse.sources.git.repo import LOG_FIELDS, LOG_FORMAT, REV_ARGS, Running, git, start_log, start_refs
from hivepulse.sources.git.repo import log_format as _log_format

__all__ = ["LOG_FIELDS", "LOG_FORMAT", "REV_ARGS", "CommitGraph", "Refs", "TagRef", "collect_graph", "git",
           "parse_refs", "read_graph", "read_refs"]  # fmt: skip

REVERT_RE = re.compile(rb"This reverts commit ([0-9a-fA-F]{7,64})")
_HEX = re.compile(rb"[0-9a-f]{7,64}")


@dataclass
class CommitGraph:
    """The commits of the repository as parallel arrays, indexed 0..n-1 in ``git log`` order (newest first).

    ``parents_of(i)`` is ``parent_idx[parent_ptr[i]:parent_ptr[i+1]]`` (CSR layout). Parents outside the graph
    (a shallow clone's cut) are dropped and counted in ``missing_parents``. Message-derived facts are kept as
    arrays too; the messages themselves are not kept, nor any name or e-mail.
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
    """First line of every commit whose subject starts with ``Merge`` (for hotfix-branch detection)."""
    reverts: dict[int, list[bytes]]
    """revert commit index -> reverted SHAs as written (maybe abbreviated), from ``This reverts commit <sha>``."""
    missing_parents: int = 0
    bad_dates: int = 0
    """Commits with a committer or author date git cannot print (before 1970, malformed): the other date is
    used, or 0 (1970-01-01) when neither is readable."""
    subjects: list[bytes] = field(default_factory=list)
    """The subject (first message line, raw bytes) of every commit, in index order; empty when unknown."""
    excluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    """Per commit, the number (1-based) of the exclusion rule it matched (``exclusion_names[k - 1]``), 0 when
    none: bot identities, release tools, the team's own patterns (:mod:`.exclude`). Empty when none asked."""
    exclusion_names: tuple[str, ...] = ()
    _sorted: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.shas)

    def resolve(self, sha: str | bytes) -> int | None:
        """Index of a full or abbreviated (>= 7 hex) SHA, or None when absent or ambiguous (a binary search over
        the sorted SHAs, sorted once, by numpy, on the first abbreviated lookup)."""
        key = sha.lower().encode("ascii", "replace") if isinstance(sha, str) else sha.lower()
        i = self.index.get(key)
        if i is not None or len(key) >= 40 or not _HEX.fullmatch(key):
            return i
        if self._sorted is None:
            self._sorted = np.sort(np.asarray(self.shas, dtype=f"S{len(self.shas[0]) if self.shas else 40}"))
        ordered = self._sorted
        j = int(np.searchsorted(ordered, key))  # the key pads with NULs: the first SHA >= it
        if j == len(ordered) or not bytes(ordered[j]).startswith(key):
            return None
        if j + 1 < len(ordered) and bytes(ordered[j + 1]).startswith(key):
            return None  # ambiguous
        return self.index[bytes(ordered[j])]

    def hex(self) -> list[str]:
        """All SHAs as str, in index order."""
        return b"\0".join(self.shas).decode("ascii").split("\0") if self.shas else []


# Subject patterns run over the chunk's subject lines joined by "\n", each line starting with the \x01 marker
# ("\n\x01" occurs only at line starts): a few MB instead of the whole output.
_CONVENTIONAL = re.compile(rb"\n\x01[ \t]*+([A-Za-z][A-Za-z0-9_-]{0,19}+)(?:\([^)\n]*+\))?+(!)?:[ \t]")
_REVERT_SUBJECT = re.compile(rb'\n\x01Revert "')
_MERGE_SUBJECT = re.compile(rb"\n\x01(Merge[ d][^\n]*)")
_PR_SUFFIX = re.compile(rb"\(#(\d{1,9})\)[ \t]*\n")
_PR_MERGE = re.compile(rb"\n\x01Merge pull request #(\d{1,9})\b")
# Message patterns run over the whole output; hits are kept only inside a message.
_BREAKING = re.compile(rb"BREAKING[ -]CHANGE:")


def log_format(rules: ExclusionRules) -> tuple[str, int]:
    """The ``git log --format`` for these exclusion rules and its number of fields per record."""
    return _log_format(rules.needs_authors)


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
    excluded: np.ndarray
    bad_dates: int = 0
    subjects: list[bytes] = field(default_factory=list)


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


class _Lines:
    """Maps offsets in a joined buffer of one line (or one text) per record back to record numbers."""

    def __init__(self, lengths: np.ndarray, first: int, gap: int) -> None:
        self.start = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths):
            self.start[0] = first
            np.cumsum(lengths[:-1] + gap, out=self.start[1:])
            self.start[1:] += first
        self.end = self.start + lengths

    def at(self, positions: list[int], *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(record, valid): the record whose text holds each position (``exact``: starts there)."""
        pos = np.asarray(positions, dtype=np.int64)
        rec = np.searchsorted(self.start, pos, side="right") - 1
        ok = rec >= 0
        ok[ok] = (self.start[rec[ok]] == pos[ok]) if exact else (pos[ok] < self.end[rec[ok]])
        return rec, ok


def _parse_part(out: bytes, nfields: int = LOG_FIELDS, rules: ExclusionRules = NO_EXCLUSION) -> _Part:
    """Parse whole records (``out`` must end at a record boundary).

    Record boundaries come from the NUL count (``nfields`` per record); message facts from a few regex scans
    (C speed) over the joined subject lines and, for revert trailers and breaking-change footers, over the
    whole output, each hit mapped back to its record and kept only when it lies in that record's message."""
    fields = out.split(b"\0")
    fields.pop()  # after the last NUL
    if len(fields) % nfields:
        raise SourceError("unexpected git log output (a NUL byte in a commit header or message?)")
    shas = fields[0::nfields]
    n = len(shas)
    bodies = fields[nfields - 1 :: nfields]
    if n and b"".join(body[:1] for body in bodies) != b"\x01" * n:
        raise SourceError("unexpected git log output (message markers do not match the commits)")
    lengths = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
    field_end = np.cumsum(lengths + 1) - 1  # offset of the NUL ending each field
    messages = _Lines(lengths[nfields - 1 :: nfields], 0, 0)
    messages.end = field_end[nfields - 1 :: nfields]
    messages.start = messages.end - lengths[nfields - 1 :: nfields]
    subjects = [body.split(b"\n", 1)[0] for body in bodies]
    joined = b"\n" + b"\n".join(subjects) + b"\n"
    lines = _Lines(np.fromiter(map(len, subjects), dtype=np.int64, count=n), 1, 1)

    types = np.full(n, None, dtype=object)
    breaking = np.zeros(n, dtype=bool)
    hits = [(m.start() + 1, m.group(1), m.group(2)) for m in _CONVENTIONAL.finditer(joined)]
    if hits:
        at, _ = lines.at([h[0] for h in hits], exact=True)
        words = [h[1] for h in hits]
        lower = {word: word.decode("ascii").lower() for word in set(words)}
        types[at] = [lower[w] for w in words]
        bang = np.fromiter((h[2] is not None for h in hits), dtype=bool, count=len(hits))
        breaking[at[bang]] = True
    rev = [m.start() + 1 for m in _REVERT_SUBJECT.finditer(joined)]
    if rev:
        types[lines.at(rev, exact=True)[0]] = "revert"
    footer = [m.start() for m in _BREAKING.finditer(out) if m.start() and out[m.start() - 1] in b"\n\x01"]
    if footer:
        at, ok = messages.at(footer)
        breaking[at[ok]] = True
    prs = np.full(n, -1, dtype=np.int64)
    suffix = [(m.start(), int(m.group(1))) for m in _PR_SUFFIX.finditer(joined)]
    if suffix:
        prs[lines.at([p for p, _ in suffix])[0]] = [v for _, v in suffix]
    merges = [(m.start() + 1, m.group(1)) for m in _MERGE_SUBJECT.finditer(joined)]
    merge_subjects: dict[int, bytes] = {}
    if merges:
        at, _ = lines.at([p for p, _ in merges], exact=True)
        merge_subjects = dict(zip(at.tolist(), [t for _, t in merges], strict=True))
    pr_merge = [(m.start() + 1, int(m.group(1))) for m in _PR_MERGE.finditer(joined)]
    if pr_merge:
        prs[lines.at([p for p, _ in pr_merge], exact=True)[0]] = [v for _, v in pr_merge]
    reverts: dict[int, list[bytes]] = {}
    trailers = [(m.start(), m.group(1).lower()) for m in REVERT_RE.finditer(out)]
    if trailers:
        at, ok = messages.at([p for p, _ in trailers])
        for i, good, (_, target) in zip(at.tolist(), ok.tolist(), trailers, strict=True):
            if good:
                reverts.setdefault(i, []).append(target)
    excluded = np.zeros(n, np.int16)
    if rules.active:
        excluded = _exclusions(fields, nfields, n, joined, lines, rules)
    committer_time, bad_ct = _epochs(fields[2::nfields])
    author_time, bad_at = _epochs(fields[3::nfields])
    bad_dates = 0
    if bad_ct is not None or bad_at is not None:  # a date git cannot print: take the other one, else 0
        no_ct = bad_ct if bad_ct is not None else np.zeros(n, dtype=bool)
        no_at = bad_at if bad_at is not None else np.zeros(n, dtype=bool)
        committer_time[no_ct] = np.where(no_at[no_ct], 0, author_time[no_ct])
        author_time[no_at] = np.where(no_ct[no_at], 0, committer_time[no_at])
        bad_dates = int((no_ct | no_at).sum())
    return _Part(
        shas=shas,
        parents=fields[1::nfields],
        committer_time=committer_time,
        author_time=author_time,
        bad_dates=bad_dates,
        types=types,
        breaking=breaking,
        pr_numbers=prs,
        merge_subjects=merge_subjects,
        reverts=reverts,
        excluded=excluded,
        subjects=[subject[1:] for subject in subjects],  # without the \x01 marker
    )


def _exclusions(fields: list[bytes], nfields: int, n: int, joined: bytes, lines: _Lines,
                rules: ExclusionRules) -> np.ndarray:  # fmt: skip
    """Per record, the exclusion rule that matches (0: none), in this order: release-tool subjects, author rules
    (the ident field, decided once per distinct identity and then dropped), the team's message regexes."""
    code = np.zeros(n, dtype=np.int16)
    if rules.tools is not None:
        found = [(m.start() + 1, int(str(m.lastgroup)[1:])) for m in rules.tools.finditer(joined)]
        if found:
            at, _ = lines.at([p for p, _ in found], exact=True)
            code[at] = [number for _, number in found]
    if rules.author and nfields > LOG_FIELDS:
        idents = fields[4::nfields]
        verdict = {ident: author_rule(ident.decode("utf-8", "replace"), rules) for ident in set(idents)}
        by_author = np.fromiter(map(verdict.__getitem__, idents), dtype=np.int16, count=n)
        code = np.where(code > 0, code, by_author).astype(np.int16)
        del idents, verdict
    if rules.messages:
        texts = [body[1:].decode("utf-8", "replace") for body in fields[nfields - 1 :: nfields]]
        text = "\n\x00\n".join(texts)
        where = _Lines(np.fromiter(map(len, texts), dtype=np.int64, count=n), 0, 3)
        for number, regex in rules.messages:
            hits = [m.start() for m in regex.finditer(text)]
            if hits:
                at, ok = where.at(hits)
                for i in at[ok & (code[np.maximum(at, 0)] == 0)].tolist():
                    code[i] = number
    return code


def _assemble(parts: list[_Part], names: tuple[str, ...] = ()) -> CommitGraph:
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
        excluded=cat("excluded", np.int16),
        exclusion_names=names,
        subjects=[s for p in parts for s in p.subjects] if all(len(p.subjects) == len(p.shas) for p in parts) else [],
    )


def _complete_prefix(buf: bytes, nfields: int = LOG_FIELDS) -> int:
    """Length of the longest prefix of ``buf`` made of whole records (``buf`` starts at a record boundary):
    up to the NUL that ends the last complete record, counting NULs (no field holds one)."""
    count = buf.count(b"\0")
    if count < nfields:
        return 0
    pos = len(buf)
    for _ in range(count % nfields + 1):  # back over the NULs of the cut record, to the end of the last whole one
        pos = buf.rfind(b"\0", 0, pos)
    return pos + 1


CHUNK_BYTES = 4 << 20


def _parse_log(out: bytes, rules: ExclusionRules = NO_EXCLUSION) -> CommitGraph:
    """Parse a complete ``git log`` output (used by tests and small inputs)."""
    return _assemble([_parse_part(out, log_format(rules)[1], rules)], rules.names)


def collect_graph(log: Running, rules: ExclusionRules = NO_EXCLUSION, *, chunk_bytes: int = CHUNK_BYTES
                  ) -> CommitGraph:  # fmt: skip
    """Parse the output of :func:`start_log` while git still writes it: whole records, about ``chunk_bytes`` at
    a time, so parsing overlaps git's own walk on a second core."""
    nfields = log_format(rules)[1]
    parts: list[_Part] = []
    fd = log.out.fileno()
    pos, pending = 0, b""
    try:
        while True:
            finished = log.finished()
            if not finished and os.fstat(fd).st_size - pos < chunk_bytes:
                time.sleep(0.005)  # wait for a whole chunk (fewer, larger parts)
                continue
            chunk = os.pread(fd, max(chunk_bytes, 1 << 16), pos)  # pread: the file offset is git's, not ours
            if chunk:
                pos += len(chunk)
                data = pending + chunk if pending else chunk
                cut = _complete_prefix(data, nfields)
                if cut:
                    parts.append(_parse_part(data[:cut], nfields, rules))
                pending = data[cut:]
                continue
            if finished:
                break
        log.check()
    finally:
        log.close()
    if pending:
        parts.append(_parse_part(pending, nfields, rules))
    return _assemble(parts, rules.names)


def read_graph(path: str, *, chunk_bytes: int = CHUNK_BYTES, rules: ExclusionRules = NO_EXCLUSION,
               revs: tuple[str, ...] = REV_ARGS) -> CommitGraph:
    """Read the whole commit graph and the message facts with one ``git log`` (no name or e-mail kept).

    ``revs``: what to walk (default :data:`REV_ARGS`, every branch, tag and remote); release notes pass
    ``(head_sha, "^" + tag_sha)`` for the commits since a tag (full SHAs only: never a user's text, which git
    could read as an option)."""
    return collect_graph(start_log(path, rules.needs_authors, revs), rules, chunk_bytes=chunk_bytes)


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
    return parse_refs(path, start_refs(path).output())


def parse_refs(path: str, out: bytes) -> Refs:
    """The :class:`Refs` of a ``git for-each-ref`` output (tags of tags peeled with one ``git cat-file``)."""
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
