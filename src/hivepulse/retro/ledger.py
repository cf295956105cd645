"""The action-item ledger across retros: ``<output_dir>/ledger.json``.

The ledger holds one entry per iteration id (``{"since", "until", "due", "actions", "followups"}``), keyed
and written with sorted keys, so writing the same iteration's entry again changes nothing (idempotent).
An iteration's follow-up reads the *previous* entry: the one with the latest ``until`` not after this
iteration's ``since``; re-running an older iteration therefore never sees later ones.

Verdicts (rules in ``docs/retro.md``): for each item of the previous entry, the current value of its
``watch`` measurement is compared with its target:

- ``met``: the point estimate satisfies ``<comparator> <target>`` (``measurable`` items: n >= 1);
- ``not met``: it does not; the item carries over to this iteration's action list;
- ``not measurable``: no value now (a median or rate of n = 0) or no target could be set. An item *with* a
  target stays **open**: it is kept in this iteration's entry under ``pending`` (not in the action list, so
  it takes no slot of ``max_actions``) and followed up again at the next retro, until a value exists. An item
  without a target can never be judged and is closed. Deployment frequency is measurable whenever the
  iteration is covered by the data: zero deployments is a value (0/week), not a missing one.

Profiling-finding items (``signal == "finding"``) are measured from the findings of the profiling run that
counts for this iteration (:mod:`hivepulse.retro.profiling`): the finding of the same metric and scenario
(``details.measurement``, e.g. ``hit_ratio@memory-naive``). Without such a run (or when it did not measure
it) the item is *not measurable*; it stays open, but only for :data:`FINDING_MAX_UNMEASURED` consecutive
retros without a measurement: then its outcome is ``expired`` and it is closed (a profiling run is an
occasional event, not a stream of data, so an item waiting for one must not be carried forever).

**Environments**: an entry belongs to one environment (``environment``, written when it is not
``production``) and is keyed by its record name (:func:`hivepulse.retro.record.record_name`: the iteration id
for production, ``<iteration id>.<environment>`` otherwise), so a staging retro never replaces production's
entry, and a follow-up reads only entries of its own environment.

The ledger is read into typed values (:class:`Ledger`, :class:`LedgerEntry`, :class:`ActionItem`), every
entry checked against the documented schema (:class:`EntryModel`: a field of the wrong type is an InputError
naming the file and the field); a ``version`` newer than :data:`LEDGER_VERSION` is refused, never rewritten.
Entries this run does not set are written back exactly as they were read. Writers go through
:func:`hivepulse.retro.workspace.commit` (the workspace lock, the ledger re-read under it).

**Board links**: an item may carry ``board``, its GitHub issue as ``hivepulse actions sync`` last read it
(:class:`~hivepulse.retro.boardlink.BoardLink`, optional); a follow-up keeps it (``FollowUp.board``), a
re-run of an iteration keeps the links of its items, and every writer of ``ledger.json`` goes
through :mod:`hivepulse.retro.workspace` (the workspace lock, the ledger re-read under it).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hivepulse.errors import InputError
from hivepulse.fsio import atomic_write_text, read_text_limited
from hivepulse.metrics.results import JSONObject, round_float
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.boardlink import BoardLink
from hivepulse.retro.facts import Measurement
from hivepulse.retro.fmt import comparison_text, fmt_value
from hivepulse.retro.record import PRODUCTION
from hivepulse.vocabulary import normalize_name

LEDGER_VERSION = 1
FINDING_MAX_UNMEASURED = 2
"""A profiling-finding item not measurable at this many consecutive retros expires (closed)."""
Verdict = Literal["met", "not met", "not measurable"]
VERDICTS: tuple[Verdict, ...] = ("met", "not met", "not measurable")
"""The workspace lock file, ``<output_dir>/.hivepulse.lock`` (:func:`hivepulse.fsio.locked`): held by every
writer of ``ledger.json`` (the retro, ``actions sync``) while it re-reads, changes and writes it."""
MAX_LEDGER_BYTES = 64 << 20
"""Largest ``ledger.json`` read (64 MiB: decades of retros)."""
_OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class FollowUp:
    """The follow-up of one earlier action item: the watched value then (baseline) and now, and a verdict."""

    id: str
    action_id: str
    title: str
    watch: str
    then: float | None
    now: float | None
    n_now: int
    comparator: str
    target: float | None
    target_text: str
    verdict: Verdict
    carried_from: str
    carry_count: int
    signal: str = ""
    unmeasured: int = 0
    """Consecutive retros, this one included, at which the item was not measurable (0 when measured)."""
    board: BoardLink | None = None
    """The item's GitHub issue as the last ``actions sync`` read it (*closed on GitHub (#12) on ...*)."""

    @property
    def outcome(self) -> str:
        """What happens to the item: ``carried over`` (not met), ``still open`` (not measurable but it has
        a target: followed up again next retro), ``expired`` (a profiling-finding item not measurable at
        :data:`FINDING_MAX_UNMEASURED` consecutive retros: closed) or ``closed`` (met, or never
        measurable)."""
        if self.verdict == "not met":
            return "carried over"
        if self.verdict == "not measurable" and (self.target is not None or self.comparator == "measurable"):
            if self.signal == "finding" and self.unmeasured >= FINDING_MAX_UNMEASURED:
                return "expired"
            return "still open"
        return "closed"

    def to_dict(self) -> JSONObject:
        return {
            "id": self.id, "action_id": self.action_id, "title": self.title, "watch": self.watch,
            "then": self.then, "now": round_float(self.now) if self.now is not None else None,
            "n_now": self.n_now, "comparator": self.comparator,
            "target": self.target, "target_text": self.target_text, "verdict": self.verdict,
            "carried_from": self.carried_from, "carry_count": self.carry_count, "signal": self.signal,
            "unmeasured": self.unmeasured,
            **({"board": self.board.to_dict()} if self.board is not None else {}),
        }

    @property
    def why(self) -> str:
        """The comparison behind the verdict, from the unrounded value: ``0.999 h < 1 h`` (``""`` when not
        measurable); :func:`hivepulse.retro.fmt.comparison_text`."""
        return comparison_text(self.watch, self.now, self.comparator, self.target, self.n_now)

    @property
    def summary(self) -> str:
        """``pickup_hours_median 30 h -> 6.0 h (n=12), target <= 15 h: met (6.0 h <= 15 h)``."""
        why = f" ({self.why})" if self.why else ""
        return (
            f"{self.watch} {fmt_value(self.watch, self.then)} -> {fmt_value(self.watch, self.now)} "
            f"(n={self.n_now}), target {self.target_text}: {self.verdict}{why}"
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One iteration's entry: its window, due date, action items, the follow-ups made at its retro and the
    earlier items still open (``pending``), for one ``environment``. ``raw`` is the JSON it was read from
    (written back unchanged)."""

    since: str
    until: str
    due: str
    actions: tuple[ActionItem, ...] = ()
    followups: tuple[FollowUp, ...] = ()
    pending: tuple[ActionItem, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    environment: str = PRODUCTION

    def open_items(self) -> list[ActionItem]:
        """The items the next retro follows up: the ``actions``, then the ``pending`` items (not measurable
        last time, still open), without duplicate ids."""
        out: list[ActionItem] = []
        seen: set[str] = set()
        for item in (*self.actions, *self.pending):
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
        return out

    def to_dict(self) -> JSONObject:
        if self.raw is not None:
            return dict(self.raw)
        entry: JSONObject = {
            "since": self.since,
            "until": self.until,
            "due": self.due,
            "actions": [a.to_dict() for a in self.actions],
            "followups": [f.to_dict() for f in self.followups],
        }
        if self.pending:  # only when there is one: ledgers of earlier versions stay byte-identical on a re-run
            entry["pending"] = [p.to_dict() for p in self.pending]
        if self.environment != PRODUCTION:  # production's entries stay as they were before environments
            entry["environment"] = self.environment
        normal: JSONObject = json.loads(json.dumps(entry, allow_nan=False))
        return normal


@dataclass(frozen=True)
class Ledger:
    """The ledger: one :class:`LedgerEntry` per record name (iteration id, ``.<environment>`` but for
    production). ``extra`` holds top-level keys of the file this hivepulse does not read (written back)."""

    entries: Mapping[str, LedgerEntry] = field(default_factory=dict)
    version: int = LEDGER_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def previous(self, since: str, environment: str = PRODUCTION) -> tuple[str, LedgerEntry] | None:
        """``(key, entry)`` of ``environment``'s latest entry whose ``until`` is not after ``since`` (ISO
        dates); entries of other environments are never followed up."""
        earlier = [(entry.until, key, entry) for key, entry in self.entries.items()
                   if entry.until <= since and entry.environment == environment]
        if not earlier:
            return None
        _, key, entry = max(earlier, key=lambda t: (t[0], t[1]))
        return key, entry

    def to_dict(self) -> JSONObject:
        return {**self.extra, "version": self.version,
                "iterations": {k: e.to_dict() for k, e in self.entries.items()}}

    @classmethod
    def from_dict(cls, data: object, *, file: str | None = None) -> Ledger:
        """The ledger in ``data`` (the parsed JSON); InputError naming the file and the field when it is not
        one of the documented schema, or of a newer version."""
        if not isinstance(data, dict):
            raise InputError("bad ledger", file=file, expected='a JSON object {"version": 1, "iterations": {...}}')
        version = data.get("version", LEDGER_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError("bad ledger version", file=file, column="version", value=version,
                             expected=f"the integer {LEDGER_VERSION}")
        if version > LEDGER_VERSION:
            raise InputError(f"ledger version {version} is newer than this hivepulse supports ({LEDGER_VERSION})",
                             file=file, column="version",
                             expected="a newer hivepulse (the file is left as it is)")
        if not isinstance(data.get("iterations"), dict):
            raise InputError("bad ledger", file=file, column="iterations", expected="a mapping of iteration ids")
        entries = {str(key): _entry(str(key), raw, file) for key, raw in data["iterations"].items()}
        extra = {k: v for k, v in data.items() if k not in ("version", "iterations")}
        return cls(entries, version, extra)


# ---------------------------------------------------------------------------------------------- schema

_Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
_OptDay = Annotated[str, Field(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]


class DetailsModel(BaseModel):
    """The schema of an item's ``details`` (a profiling finding it watches, consecutive unmeasured retros)."""

    model_config = ConfigDict(extra="allow", strict=True)

    measurement: str | None = None
    scenario: str | None = None
    threshold: float | None = None
    better: str | None = None
    unmeasured: int | None = None


class ItemModel(BaseModel):
    """The schema of an action item in the ledger (``ActionItem.to_dict``); other keys are kept."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: str
    action_id: str
    title: str
    practice: str
    signal: str
    metric: str
    evidence: str
    watch: str
    baseline: float | None
    comparator: str
    target: float | None
    target_text: str
    due: _OptDay
    reach: float
    impact: float
    confidence: float
    effort: float
    votes: int = 0
    score: float = 0.0
    owner: str = ""
    rank: int = 0
    carried_from: str | None = None
    carry_count: int = 0
    stage: str | None = None
    details: DetailsModel = Field(default_factory=lambda: DetailsModel())


class EntryModel(BaseModel):
    """The schema of a ledger entry (docs/retro.md, "Ledger"); other keys are kept."""

    model_config = ConfigDict(extra="allow", strict=True)

    since: _Day
    until: _Day
    due: _OptDay = ""
    environment: str = Field(PRODUCTION, min_length=1)
    actions: list[ItemModel] | None = None
    followups: list[dict[str, Any]] | None = None
    pending: list[ItemModel] | None = None


_EXPECTED = {"string_type": "a string", "string_pattern_mismatch": "a date YYYY-MM-DD", "float_type": "a number",
             "int_type": "an integer", "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
             "missing": "the field (it is missing)", "string_too_short": "a non-empty string"}


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("float", "int", "str", "none", "list[ItemModel]", "list[dict[str,any]]"):
            out += f".{part}"
    return out


def _entry(key: str, raw: object, file: str | None) -> LedgerEntry:
    if not isinstance(raw, dict):
        raise InputError("bad ledger entry", file=file, column=f"iterations.{key}", expected="a mapping")
    try:
        checked = EntryModel.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        value = err.get("input") if err["type"] != "missing" else None
        raise InputError("bad ledger entry", file=file, column=f"iterations.{key}{_path(loc)}",
                         value=None if isinstance(value, dict | list) else value,
                         expected=_EXPECTED.get(err["type"], err.get("msg", "the documented schema"))) from None

    def items(name: str) -> tuple[ActionItem, ...]:
        # every item passed ItemModel: the raw mappings are what ActionItem reads (unknown keys not read)
        return tuple(ActionItem.from_dict(item) for item in raw.get(name) or [])

    return LedgerEntry(
        since=checked.since,
        until=checked.until,
        due=checked.due,
        actions=items("actions"),
        pending=items("pending"),
        raw=raw,
        environment=normalize_name(checked.environment) or PRODUCTION,  # compared without letter case
    )


def empty() -> Ledger:
    """A new, empty ledger."""
    return Ledger()


def _no_constant(name: str) -> object:
    raise ValueError(name)


def loads(text: str, *, file: str | None = None) -> Ledger:
    """The ledger in the JSON ``text``; bad JSON (``NaN`` and ``Infinity`` included, nesting too deep for
    the parser) or content outside the schema is an InputError naming ``file``."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError("not valid JSON", file=file, line=exc.lineno, expected="a hivepulse ledger") from None
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc} is not a number)", file=file,
                         expected="a hivepulse ledger") from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply)", file=file, expected="a hivepulse ledger") from None
    try:
        return Ledger.from_dict(data, file=file)
    except RecursionError:
        raise InputError("bad ledger (nested too deeply)", file=file, expected="a hivepulse ledger") from None


def load(path: str | Path) -> Ledger:
    """The ledger at ``path`` (an empty one when the file does not exist); see :func:`loads`."""
    p = Path(path)
    if not p.is_file():
        return empty()
    return loads(read_text_limited(p, MAX_LEDGER_BYTES, what="ledger"), file=str(p))


def dumps(ledger: Ledger) -> str:
    """Canonical JSON text of a ledger (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(ledger.to_dict(), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def save(path: str | Path, ledger: Ledger) -> bool:
    """Write the ledger atomically; returns False (and writes nothing) when the content is unchanged.

    No lock: a workspace's ledger is written by :func:`hivepulse.retro.workspace.commit`, which holds it."""
    p = Path(path)
    text = dumps(ledger)
    if p.is_file() and p.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(p, text)
    return True


def previous(ledger: Ledger, since: str, environment: str = PRODUCTION) -> tuple[str, LedgerEntry] | None:
    """:meth:`Ledger.previous`."""
    return ledger.previous(since, environment)


def verdict(comparator: str, target: float | None, value: float | None, n: int) -> Verdict:
    """``met`` / ``not met`` / ``not measurable`` (see the module docstring)."""
    if comparator == "measurable":
        return "met" if n >= 1 and value is not None else "not met"
    if value is None or target is None or comparator not in _OPS:
        return "not measurable"
    return "met" if _OPS[comparator](value, target) else "not met"


def follow_up(items: Sequence[ActionItem], measurements: Mapping[str, Measurement]) -> list[FollowUp]:
    """Verdicts for the previous entry's action items against this iteration's measurements.

    A measurement outside the data (``covered`` False: the iteration lies outside it) makes every item *not
    measurable*, ``measurable`` items included.
    """
    out: list[FollowUp] = []
    for item in items:
        meas = measurements.get(item.measurement) or Measurement(None, 0)
        verdict_now = "not measurable" if not meas.covered else verdict(item.comparator, item.target, meas.value,
                                                                         meas.n)
        unmeasured = (item.details.unmeasured or 0) + 1 if verdict_now == "not measurable" else 0
        out.append(
            FollowUp(
                id=item.id,
                action_id=item.action_id,
                title=item.title,
                watch=item.watch,
                then=item.baseline,
                now=meas.value,
                n_now=meas.n,
                comparator=item.comparator,
                target=item.target,
                target_text=item.target_text,
                verdict=verdict_now,
                carried_from=item.carried_from or item.id.split("/", 1)[0],
                carry_count=item.carry_count,
                signal=item.signal,
                unmeasured=unmeasured,
                board=item.board,
            )
        )
    return out


def measurement_name(item: ActionItem) -> str:
    """:attr:`ActionItem.measurement`: the measurement an item's follow-up reads."""
    return item.measurement


def open_items(entry: LedgerEntry) -> list[ActionItem]:
    """:meth:`LedgerEntry.open_items`."""
    return entry.open_items()


def carry_over(items: Sequence[ActionItem], followups: Sequence[FollowUp]) -> list[ActionItem]:
    """The previous items whose verdict is ``not met``, as items of this iteration (``carry_count`` + 1).

    Their ``evidence`` is the follow-up in numbers (the watched value now, its n, the target), so the item
    never shows figures of an earlier iteration as if they were current; when the same catalog entry fires
    again, :func:`hivepulse.retro.actions.select` replaces it with the fresh signal's evidence.
    """
    unmet = {f.id: f for f in followups if f.verdict == "not met"}
    out: list[ActionItem] = []
    for item in items:
        if item.id in unmet:
            origin = item.carried_from or item.id.split("/", 1)[0]
            follow = unmet[item.id]
            evidence = f"not met at this retro: {follow.summary.removesuffix(f': not met ({follow.why})')}"
            out.append(replace(item, carried_from=origin, carry_count=item.carry_count + 1, rank=0,
                               evidence=evidence, details=replace(item.details, unmeasured=None)))
    return out


def still_open(items: Sequence[ActionItem], followups: Sequence[FollowUp]) -> list[ActionItem]:
    """The previous items whose verdict is ``not measurable`` but which have a target (outcome ``still
    open``): kept as this iteration's ``pending`` items, followed up again at the next retro. A
    profiling-finding item records how many consecutive retros it was not measurable
    (``details.unmeasured``), so it expires after :data:`FINDING_MAX_UNMEASURED`."""
    pending = {f.id: f for f in followups if f.outcome == "still open"}
    out: list[ActionItem] = []
    for item in items:
        if item.id in pending:
            details = item.details
            if item.signal == "finding":
                details = replace(details, unmeasured=pending[item.id].unmeasured)
            out.append(replace(item, carried_from=item.carried_from or item.id.split("/", 1)[0], rank=0,
                               details=details))
    return out


def with_entry(
    ledger: Ledger,
    iteration_id: str,
    *,
    since: str,
    until: str,
    due: str,
    actions: Sequence[ActionItem],
    followups: Sequence[FollowUp],
    pending: Sequence[ActionItem] = (),
    environment: str = PRODUCTION,
) -> Ledger:
    """A copy of ``ledger`` with this iteration's entry set under ``iteration_id`` (its record name; replacing
    any earlier run of the same key).

    ``pending``: earlier items still open (not measurable this time), followed up at the next retro. Items of
    the replaced entry linked to a GitHub issue (``board``) keep their link when the new item has none.
    """
    old = ledger.entries.get(iteration_id)
    boards = {i.id: i.board for i in (old.open_items() if old else ()) if i.board is not None}
    if boards:
        actions = [a if a.board or a.id not in boards else replace(a, board=boards[a.id]) for a in actions]
        pending = [p if p.board or p.id not in boards else replace(p, board=boards[p.id]) for p in pending]
    entry = LedgerEntry(since, until, due, tuple(actions), tuple(followups), tuple(pending),
                        environment=environment)
    return merged(ledger, iteration_id, entry)


def merged(ledger: Ledger, key: str, entry: LedgerEntry) -> Ledger:
    """A copy of ``ledger`` with ``entry`` under ``key`` (every other entry as it was)."""
    return Ledger({**ledger.entries, key: entry}, LEDGER_VERSION, ledger.extra)


def entry_from_json(key: str, data: object, *, file: str | None = None) -> LedgerEntry:
    """An entry from its JSON (as :meth:`LedgerEntry.to_dict` writes it), checked like the ledger's."""
    return _entry(key, data, file)


__all__ = ["FINDING_MAX_UNMEASURED", "LEDGER_VERSION", "VERDICTS", "DetailsModel", "EntryModel", "FollowUp",
           "ItemModel", "Ledger",
           "LedgerEntry", "Verdict", "carry_over", "dumps", "empty", "entry_from_json", "follow_up", "load", "loads",
           "measurement_name", "merged", "open_items", "previous", "save", "still_open", "verdict", "with_entry"]
