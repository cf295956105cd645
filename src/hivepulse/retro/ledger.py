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
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hivepulse.errors import InputError
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.record import atomic_write_text
from hivepulse.retro.signals import fmt_value, number

LEDGER_VERSION = 1
FINDING_MAX_UNMEASURED = 2
"""A profiling-finding item not measurable at this many consecutive retros expires (closed)."""
VERDICTS = ("met", "not met", "not measurable")
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
    verdict: str
    carried_from: str
    carry_count: int
    signal: str = ""
    unmeasured: int = 0
    """Consecutive retros, this one included, at which the item was not measurable (0 when measured)."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        """``pickup_hours_median 30 h -> 6.0 h (n=12), target <= 15 h: met``."""
        return (
            f"{self.watch} {fmt_value(self.watch, self.then)} -> {fmt_value(self.watch, self.now)} "
            f"(n={self.n_now}), target {self.target_text}: {self.verdict}"
        )


def empty() -> dict[str, Any]:
    """A new, empty ledger."""
    return {"version": LEDGER_VERSION, "iterations": {}}


def load(path: str | Path) -> dict[str, Any]:
    """The ledger at ``path`` (an empty one when the file does not exist); bad JSON is an InputError."""
    p = Path(path)
    if not p.is_file():
        return empty()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError("not valid JSON", file=str(p), line=exc.lineno, expected="a hivepulse ledger") from None
    if not isinstance(data, dict) or not isinstance(data.get("iterations"), dict):
        raise InputError("bad ledger", file=str(p), column="iterations", expected="a mapping of iteration ids")
    return data


def dumps(ledger: Mapping[str, Any]) -> str:
    """Canonical JSON text of a ledger (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(ledger, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def save(path: str | Path, ledger: Mapping[str, Any]) -> bool:
    """Write the ledger atomically; returns False (and writes nothing) when the content is unchanged."""
    p = Path(path)
    text = dumps(ledger)
    if p.is_file() and p.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(p, text)
    return True


def previous(ledger: Mapping[str, Any], since: str) -> tuple[str, dict[str, Any]] | None:
    """``(iteration_id, entry)`` of the latest entry whose ``until`` is not after ``since`` (ISO dates)."""
    earlier = [
        (entry.get("until", ""), ident, entry)
        for ident, entry in ledger.get("iterations", {}).items()
        if str(entry.get("until", "")) <= since
    ]
    if not earlier:
        return None
    _, ident, entry = max(earlier, key=lambda t: (t[0], t[1]))
    return ident, entry


def verdict(comparator: str, target: float | None, value: float | None, n: int) -> str:
    """``met`` / ``not met`` / ``not measurable`` (see the module docstring)."""
    if comparator == "measurable":
        return "met" if n >= 1 and value is not None else "not met"
    if value is None or target is None or comparator not in _OPS:
        return "not measurable"
    return "met" if _OPS[comparator](value, target) else "not met"


def follow_up(
    items: Sequence[Mapping[str, Any]], measurements: Mapping[str, Mapping[str, Any]]
) -> list[FollowUp]:
    """Verdicts for the previous entry's action items against this iteration's measurements.

    A measurement marked ``"covered": False`` (the iteration lies outside the data) makes every item *not
    measurable*, ``measurable`` items included.
    """
    out: list[FollowUp] = []
    for raw in items:
        item = ActionItem.from_dict(raw)
        meas = measurements.get(measurement_name(item)) or {}
        now = number(meas.get("value"))
        n_now = int(number(meas.get("n")) or 0)
        outside = meas.get("covered") is False  # the iteration lies outside the data: nothing to judge
        verdict_now = "not measurable" if outside else verdict(item.comparator, item.target, now, n_now)
        unmeasured = int(number((item.details or {}).get("unmeasured")) or 0) + 1 \
            if verdict_now == "not measurable" else 0
        out.append(
            FollowUp(
                id=item.id,
                action_id=item.action_id,
                title=item.title,
                watch=item.watch,
                then=item.baseline,
                now=now,
                n_now=n_now,
                comparator=item.comparator,
                target=item.target,
                target_text=item.target_text,
                verdict=verdict_now,
                carried_from=item.carried_from or item.id.split("/", 1)[0],
                carry_count=item.carry_count,
                signal=item.signal,
                unmeasured=unmeasured,
            )
        )
    return out


def measurement_name(item: ActionItem) -> str:
    """The measurement an item's follow-up reads: ``details.measurement`` for profiling-finding items
    (``hit_ratio@memory-naive``), else its ``watch``."""
    name = (item.details or {}).get("measurement")
    return str(name) if name else item.watch


def open_items(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of a ledger entry that the next retro follows up: its ``actions``, then its ``pending``
    items (not measurable last time, still open), without duplicate ids."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in list(entry.get("actions") or []) + list(entry.get("pending") or []):
        ident = str(raw.get("id"))
        if ident not in seen:
            seen.add(ident)
            out.append(dict(raw))
    return out


def carry_over(items: Sequence[Mapping[str, Any]], followups: Sequence[FollowUp]) -> list[ActionItem]:
    """The previous items whose verdict is ``not met``, as items of this iteration (``carry_count`` + 1).

    Their ``evidence`` is the follow-up in numbers (the watched value now, its n, the target), so the item
    never shows figures of an earlier iteration as if they were current; when the same catalog entry fires
    again, :func:`hivepulse.retro.actions.select` replaces it with the fresh signal's evidence.
    """
    unmet = {f.id: f for f in followups if f.verdict == "not met"}
    out: list[ActionItem] = []
    for raw in items:
        item = ActionItem.from_dict(raw)
        if item.id in unmet:
            origin = item.carried_from or item.id.split("/", 1)[0]
            evidence = f"not met at this retro: {unmet[item.id].summary.removesuffix(': not met')}"
            details = {k: v for k, v in (item.details or {}).items() if k != "unmeasured"}
            out.append(replace(item, carried_from=origin, carry_count=item.carry_count + 1, rank=0,
                               evidence=evidence, details=details))
    return out


def still_open(items: Sequence[Mapping[str, Any]], followups: Sequence[FollowUp]) -> list[ActionItem]:
    """The previous items whose verdict is ``not measurable`` but which have a target (outcome ``still
    open``): kept as this iteration's ``pending`` items, followed up again at the next retro. A
    profiling-finding item records how many consecutive retros it was not measurable
    (``details.unmeasured``), so it expires after :data:`FINDING_MAX_UNMEASURED`."""
    pending = {f.id: f for f in followups if f.outcome == "still open"}
    out: list[ActionItem] = []
    for raw in items:
        item = ActionItem.from_dict(raw)
        if item.id in pending:
            details = dict(item.details or {})
            if item.signal == "finding":
                details["unmeasured"] = pending[item.id].unmeasured
            out.append(replace(item, carried_from=item.carried_from or item.id.split("/", 1)[0], rank=0,
                               details=details))
    return out


def with_entry(
    ledger: Mapping[str, Any],
    iteration_id: str,
    *,
    since: str,
    until: str,
    due: str,
    actions: Sequence[ActionItem],
    followups: Sequence[FollowUp],
    pending: Sequence[ActionItem] = (),
) -> dict[str, Any]:
    """A copy of ``ledger`` with this iteration's entry set (replacing any earlier run of the same id).

    ``pending``: earlier items still open (not measurable this time), followed up at the next retro.
    """
    out = {"version": LEDGER_VERSION, "iterations": dict(ledger.get("iterations", {}))}
    entry: dict[str, Any] = {
        "since": since,
        "until": until,
        "due": due,
        "actions": [a.to_dict() for a in actions],
        "followups": [f.to_dict() for f in followups],
    }
    if pending:  # only when there is one: ledgers of earlier versions stay byte-identical on a re-run
        entry["pending"] = [p.to_dict() for p in pending]
    out["iterations"][iteration_id] = json.loads(json.dumps(entry, allow_nan=False))
    return out
