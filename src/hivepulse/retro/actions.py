"""The action-item engine: catalog entries matched to signals, targets set, ranked with RICE.

``score = reach x impact x confidence / effort x (1 + VOTE_WEIGHT x votes)``

- reach, impact, confidence come from the :class:`~hivepulse.retro.facts.Signal` (rules in
  ``docs/action-items.md``); effort (person-weeks) from the catalog entry (:mod:`hivepulse.retro.catalog`);
- votes are the team's votes on *to improve* notes naming the same metric (:mod:`hivepulse.retro.notes`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hivepulse.metrics.results import JSONObject, round_float
from hivepulse.metrics.tiers import next_tier_cutoff
from hivepulse.retro.boardlink import BoardLink
from hivepulse.retro.catalog import TARGET_RULES, CatalogEntry, TargetRule, load_catalog
from hivepulse.retro.facts import Measurement, Signal
from hivepulse.retro.fmt import fmt_value
from hivepulse.retro.rice import VOTE_WEIGHT, rice
from hivepulse.textsafe import csv_cell
from hivepulse.vocabulary import direction

CSV_FIELDS = (
    "rank", "id", "action_id", "title", "practice", "signal", "metric", "evidence", "watch", "baseline",
    "comparator", "target", "target_text", "due", "owner", "reach", "impact", "confidence", "effort", "votes",
    "score", "carried_from", "carry_count",
)
_FINDING_KEYS = ("measurement", "scenario", "threshold", "better")


@dataclass(frozen=True)
class ItemDetails:
    """What an item keeps beyond its fields: for a profiling-finding item, the finding it watches
    (``measurement``, e.g. ``hit_ratio@memory-naive``, its scenario, threshold and direction), and how many
    consecutive retros it was not measurable (``unmeasured``)."""

    finding: bool = False
    measurement: str | None = None
    scenario: str | None = None
    threshold: float | None = None
    better: str | None = None
    unmeasured: int | None = None

    @classmethod
    def from_dict(cls, data: object) -> ItemDetails:
        if not isinstance(data, Mapping):
            return cls()
        unmeasured = data.get("unmeasured")
        return cls(
            finding=any(k in data for k in _FINDING_KEYS),
            measurement=str(data["measurement"]) if data.get("measurement") else None,
            scenario=str(data["scenario"]) if data.get("scenario") else None,
            threshold=data.get("threshold"),
            better=str(data["better"]) if data.get("better") else None,
            unmeasured=int(unmeasured) if isinstance(unmeasured, int) and not isinstance(unmeasured, bool) else None,
        )

    def to_dict(self) -> JSONObject:
        out: JSONObject = {}
        if self.finding:
            out.update(measurement=self.measurement, scenario=self.scenario, threshold=self.threshold,
                       better=self.better)
        if self.unmeasured is not None:
            out["unmeasured"] = self.unmeasured
        return out


@dataclass(frozen=True)
class ActionItem:
    """A ranked, evidenced action item as written to ``actions.json`` / ``actions.csv`` and the ledger.

    ``baseline`` and ``target`` are in the unit of ``watch`` (hours, fraction, deployments per week, count);
    ``comparator`` is one of ``<``, ``<=``, ``>=``, ``>`` or ``measurable``; ``due`` is the next retro date
    (ISO); ``owner`` is the catalog entry's ``owner`` (a role or a team; empty until the team sets one), shown
    through :attr:`owner_text`. ``board``: its GitHub issue as ``hivepulse actions sync`` last read it
    (:mod:`hivepulse.retro.boardlink`; absent until a sync, and then only written when set).
    """

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
    due: str
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
    details: ItemDetails = field(default_factory=ItemDetails)
    board: BoardLink | None = None

    def to_dict(self) -> JSONObject:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["details"] = self.details.to_dict()
        if self.board is None:  # records and ledgers without a board link stay byte-identical
            del out["board"]
        else:
            out["board"] = self.board.to_dict()
        return out

    @property
    def owner_text(self) -> str:
        """The owner column: ``owner``, else ``assigned on GitHub (#12)`` when the item's issue is assigned
        (never who), else empty."""
        return self.owner or (self.board.owner_text if self.board is not None else "")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionItem:
        """An item from its JSON (a ledger entry); unknown keys are not read."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["details"] = ItemDetails.from_dict(data.get("details"))
        values["board"] = BoardLink.from_dict(data.get("board"))
        return cls(**values)

    @property
    def measurement(self) -> str:
        """The measurement this item's follow-up reads: ``details.measurement`` for profiling-finding items
        (``hit_ratio@memory-naive``), else its ``watch``."""
        return self.details.measurement or self.watch


# ---------------------------------------------------------------------------------------------- targets


def set_target(
    entry: CatalogEntry,
    watch: str,
    baseline: float | None,
    *,
    tier: str | None,
    previous: float | None,
    edition: str = "2024",
    rule: TargetRule | None = None,
    threshold: float | None = None,
    declared: str | None = None,
) -> tuple[str, float | None, str]:
    """``(comparator, target, text)`` for ``watch`` from the entry's target rule.

    The comparator follows the watched metric's direction (:mod:`hivepulse.vocabulary`; ``declared``
    is a team finding's own ``better``). ``threshold``: a profiling finding's threshold, for the
    ``threshold`` rule. ``target`` is ``None`` when the rule needs a value that is missing or the direction
    is unknown (the follow-up then says *not measurable*), except for ``measurable`` whose comparator needs
    none.
    """
    rule = rule or entry.target
    kind = rule.rule
    way = direction(watch, declared)
    higher = way == "higher"
    better = ">=" if higher else "<="
    fallback = rule.fallback or TargetRule(rule="relative", change=0.2)
    if kind == "measurable":
        return "measurable", None, f"{watch} measurable (n >= 1)"
    if way is None and kind in ("next_tier", "previous", "relative", "threshold"):
        return better, None, f"{watch}: direction unknown (declare better: higher or lower)"
    if kind == "threshold":
        if threshold is None:
            return set_target(entry, watch, baseline, tier=tier, previous=previous, edition=edition,
                              rule=fallback, declared=declared)
        return better, threshold, f"{watch} {better} {fmt_value(watch, threshold)} (the profiling threshold)"
    if kind == "next_tier":
        nxt = next_tier_cutoff(watch, tier, edition)
        if nxt is None:
            return set_target(entry, watch, baseline, tier=tier, previous=previous, edition=edition,
                              rule=fallback, declared=declared)
        name, cutoff = nxt
        op = ">=" if higher else ("<=" if watch == "change_fail_rate" else "<")
        return op, cutoff, f"{watch} {op} {fmt_value(watch, cutoff)} ({name})"
    if kind == "previous":
        if previous is None:
            return better, None, f"{watch} back to the previous iteration's value (unknown)"
        return better, previous, f"{watch} {better} {fmt_value(watch, previous)} (previous iteration)"
    if kind == "relative":
        change = rule.change or 0.2
        if baseline is None:
            return better, None, f"{watch} {change:.0%} better than now (no value now)"
        target = baseline * (1 + change) if higher else baseline * (1 - change)
        return better, round(target, 6), f"{watch} {better} {fmt_value(watch, target)} ({change:.0%} better)"
    if kind in ("at_most", "at_least"):
        op = "<=" if kind == "at_most" else ">="
        return op, rule.value, f"{watch} {op} {fmt_value(watch, rule.value)}"
    raise ValueError(f"unknown target rule {kind!r}")


# ---------------------------------------------------------------------------------------------- proposal


def propose(
    signals: Sequence[Signal],
    catalog: Sequence[CatalogEntry],
    *,
    tiers: Mapping[str, str | None],
    measurements: Mapping[str, Measurement],
    previous_measurements: Mapping[str, Measurement] | None = None,
    votes: Mapping[str, int] | None = None,
    iteration_id: str,
    due: str,
    tier_edition: str = "2024",
) -> list[ActionItem]:
    """Every catalog entry that answers a signal, as an :class:`ActionItem`, best score first.

    ``tiers``: the tier of each DORA metric this iteration (for ``next_tier`` targets). At most one item per
    catalog entry (its ``action_id`` is the entry id): an entry answering several signals (e.g. the hit
    ratio of two cached scenarios) is kept once, with its best score, and its evidence says how many more
    signals it answers. A ``finding`` entry without a metric answers only finding metrics that no other
    entry names.
    """
    votes = votes or {}
    previous_measurements = previous_measurements or {}
    best: dict[str, ActionItem] = {}
    also: dict[str, int] = {}
    named = {e.signal.metric for e in catalog if e.signal.kind == "finding" and e.signal.metric}
    for signal in signals:
        is_finding, finding = signal.kind == "finding", signal.finding
        for entry in catalog:
            if not entry.matches(signal):
                continue
            if is_finding and not entry.signal.metric and signal.metric in named:
                continue  # a specific entry answers this finding metric
            key = entry.id
            watch = signal.metric if (entry.watch == "finding" or is_finding) else entry.watch
            details = ItemDetails()
            if is_finding:
                baseline = signal.value
                if finding is not None:
                    details = ItemDetails(finding=True, measurement=finding.measurement,
                                          scenario=finding.scenario, threshold=finding.threshold,
                                          better=finding.better)
            else:
                now = measurements.get(watch)
                baseline = _published(now) if now is not None else None
            prev = previous_measurements.get(watch)
            comparator, target, text = set_target(
                entry, watch, baseline, tier=tiers.get(watch), previous=_published(prev) if prev is not None else None,
                edition=tier_edition, threshold=finding.threshold if finding is not None else None,
                declared=finding.better if finding is not None else None,
            )
            n_votes = int(votes.get(signal.metric, 0))
            item = ActionItem(
                id=f"{iteration_id}/{key}",
                action_id=key,
                title=entry.title,
                practice=entry.practice,
                signal=signal.kind,
                metric=signal.metric,
                stage=signal.stage,
                evidence=signal.evidence,
                watch=watch,
                baseline=baseline,
                comparator=comparator,
                target=target,
                target_text=text,
                due=due,
                reach=round(signal.reach, 4),
                impact=signal.impact,
                confidence=signal.confidence,
                effort=entry.effort,
                votes=n_votes,
                score=rice(signal.reach, signal.impact, signal.confidence, entry.effort, n_votes),
                owner=entry.owner,
                details=details,
            )
            if key in best:
                also[key] = also.get(key, 0) + 1
            if key not in best or item.score > best[key].score:
                best[key] = item
    out = []
    for key, item in best.items():
        if also.get(key):
            what = "scenario(s)" if item.signal == "finding" else "signal(s)"
            item = replace(item, evidence=f"{item.evidence} (and {also[key]} more {what} with the same problem)")
        out.append(item)
    return sorted(out, key=_rank_key)


def _published(measurement: Measurement) -> float | None:
    """A measurement's value as the records print it (a baseline or a previous value is quoted, not judged)."""
    value = measurement.value
    return round_float(value) if value is not None and measurement.rounded_in_record else value


def _rank_key(item: ActionItem) -> tuple[float, float, str]:
    return (-item.score, item.effort, item.action_id)


def select(
    candidates: Sequence[ActionItem],
    carried: Sequence[ActionItem] = (),
    *,
    max_actions: int = 3,
    due: str | None = None,
    votes: Mapping[str, int] | None = None,
) -> list[ActionItem]:
    """The ranked action list: carried-over items first, then new candidates, at most ``max_actions``; at
    most one item per catalog entry (``action_id``), carried items included (the oldest stands for its entry).

    A carried item whose entry fires again takes the fresh evidence and score but keeps its id, its target
    and its origin; a new candidate with the same ``action_id`` as a carried item is not repeated. A carried
    item whose entry does not fire again keeps its RICE terms, re-scored with this retro's ``votes`` on its
    metric (the team's votes count for every action on that metric).
    """
    fresh = {c.action_id: c for c in candidates}
    kept: list[ActionItem] = []
    for item in carried:
        now = fresh.get(item.action_id)
        updated = replace(item, due=due or item.due)
        if now is None and votes is not None:
            n_votes = int(votes.get(item.metric, 0))
            updated = replace(updated, votes=n_votes,
                              score=rice(item.reach, item.impact, item.confidence, item.effort, n_votes))
        if now is not None:
            updated = replace(updated, evidence=now.evidence, reach=now.reach, impact=now.impact,
                              confidence=now.confidence, votes=now.votes, score=now.score,
                              owner=now.owner or item.owner)
        kept.append(updated)
    kept.sort(key=lambda i: (i.carried_from or i.id, _rank_key(i)))
    once: dict[str, ActionItem] = {}
    for item in kept:  # one item per catalog entry: the oldest carried item of an entry stands for it
        once.setdefault(item.action_id, item)
    kept = sorted(once.values(), key=_rank_key)
    carried_ids = {c.action_id for c in kept}
    new = [c for c in candidates if c.action_id not in carried_ids]
    chosen = (kept + sorted(new, key=_rank_key))[: max(0, int(max_actions))]
    return [replace(item, rank=i + 1) for i, item in enumerate(chosen)]


def _cell(value: object) -> object:
    """A CSV cell: formulas neutralised; a carriage return becomes a newline (which the writer quotes; a bare
    CR would end the row for a reader)."""
    out = csv_cell(value)
    return out.replace("\r\n", "\n").replace("\r", "\n") if isinstance(out, str) else out


def to_csv(items: Sequence[ActionItem]) -> str:
    """``actions.csv``: one row per item, columns :data:`CSV_FIELDS`; text cells a spreadsheet would evaluate
    (``= + - @``, tab, CR first) are neutralised with a leading ``'`` (:func:`hivepulse.textsafe.csv_cell`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for item in items:
        row = item.to_dict()
        writer.writerow({k: "" if row.get(k) is None else _cell(row.get(k)) for k in CSV_FIELDS})
    return buf.getvalue()


__all__ = ["CSV_FIELDS", "TARGET_RULES", "VOTE_WEIGHT", "ActionItem", "CatalogEntry", "ItemDetails",
           "TargetRule", "load_catalog", "propose", "rice", "select", "set_target", "to_csv"]
