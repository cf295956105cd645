"""The action-item engine: a catalog of practices, matched to signals and ranked with RICE.

``score = reach x impact x confidence / effort x (1 + VOTE_WEIGHT x votes)``

- reach, impact, confidence come from the :class:`~hivepulse.retro.signals.Signal` (rules in
  ``docs/action-items.md``); effort (person-weeks) from the catalog entry;
- votes are the team's votes on *to improve* notes naming the same metric (``hivepulse.retro.notes``).

The catalog ships as package data (``hivepulse/data/actions.yaml``); a team's ``retro/actions.yaml`` overrides
entries by id, disables them (``disabled: true``) or adds new ones.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hivepulse.errors import InputError
from hivepulse.retro.signals import (
    SIGNAL_KINDS,
    Signal,
    fmt_value,
    metric_block,
    next_tier_cutoff,
    number,
)
from hivepulse.vocabulary import direction

VOTE_WEIGHT = 0.1
"""Each vote on a matching *to improve* note adds 10% to an action's score."""

TARGET_RULES = ("next_tier", "previous", "relative", "at_most", "at_least", "measurable", "threshold")
CSV_FIELDS = (
    "rank",
    "id",
    "action_id",
    "title",
    "practice",
    "signal",
    "metric",
    "evidence",
    "watch",
    "baseline",
    "comparator",
    "target",
    "target_text",
    "due",
    "owner",
    "reach",
    "impact",
    "confidence",
    "effort",
    "votes",
    "score",
    "carried_from",
    "carry_count",
)


@dataclass(frozen=True)
class CatalogEntry:
    """One practice in the catalog. ``effort`` is in person-weeks."""

    id: str
    title: str
    signal: dict[str, str]
    practice: str
    effort: float
    watch: str
    target: dict[str, Any]

    def matches(self, signal: Signal) -> bool:
        """Whether this entry answers ``signal`` (same kind, and same metric / stage when given).

        A ``finding`` entry without a metric is a fallback: :func:`propose` uses it only for finding
        metrics that no entry names explicitly."""
        want = self.signal
        if want.get("kind") != signal.kind:
            return False
        if want.get("metric") and want["metric"] != signal.metric:
            return False
        if want.get("stage") and want["stage"] != signal.stage:
            return False
        return True


@dataclass(frozen=True)
class ActionItem:
    """A ranked, evidenced action item as written to ``actions.json`` / ``actions.csv`` and the ledger.

    ``baseline`` and ``target`` are in the unit of ``watch`` (hours, fraction, deployments per day, count);
    ``comparator`` is one of ``<``, ``<=``, ``>=``, ``>`` or ``measurable``; ``due`` is the next retro date
    (ISO); ``owner`` is left empty for the team.
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
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionItem:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


# ---------------------------------------------------------------------------------------------- catalog


def _entry(raw: Mapping[str, Any], where: str) -> CatalogEntry:
    def need(key: str) -> Any:
        if key not in raw or raw[key] in (None, ""):
            raise InputError("missing field", file=where, column=f"{raw.get('id', '?')}.{key}")
        return raw[key]

    ident = str(need("id"))
    signal = need("signal")
    if not isinstance(signal, Mapping) or signal.get("kind") not in SIGNAL_KINDS:
        raise InputError(
            "bad signal",
            file=where,
            column=f"{ident}.signal",
            value=signal,
            expected="{kind: " + " | ".join(SIGNAL_KINDS) + ", metric?, stage?}",
        )
    effort = number(need("effort"))
    if effort is None or effort <= 0:
        raise InputError(
            "bad effort", file=where, column=f"{ident}.effort", value=raw.get("effort"), expected="> 0"
        )
    target = need("target")
    if not isinstance(target, Mapping) or target.get("rule") not in TARGET_RULES:
        raise InputError(
            "bad target",
            file=where,
            column=f"{ident}.target",
            value=target,
            expected="{rule: " + " | ".join(TARGET_RULES) + ", ...}",
        )
    return CatalogEntry(
        id=ident,
        title=str(need("title")),
        signal={k: str(v) for k, v in signal.items()},
        practice=str(need("practice")),
        effort=effort,
        watch=str(need("watch")),
        target=dict(target),
    )


def _entries(text: str, where: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            "not valid YAML", file=where, line=mark.line + 1 if mark else None, expected="a YAML mapping"
        ) from None
    if data is None:
        return []
    if not isinstance(data, Mapping) or not isinstance(data.get("actions", []), list):
        raise InputError("bad catalog", file=where, column="actions", expected="a mapping with a list 'actions'")
    return [dict(e) for e in data.get("actions") or []]


def load_catalog(override: str | Path | None = None) -> list[CatalogEntry]:
    """The shipped catalog, with ``override`` (a team's ``retro/actions.yaml``) applied when it exists.

    Raises :class:`InputError` (exit 2) naming the file and the entry field for a bad entry.
    """
    shipped = "hivepulse/data/actions.yaml"
    text = resources.files("hivepulse").joinpath("data/actions.yaml").read_text(encoding="utf-8")
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for raw in _entries(text, shipped):
        merged[str(raw.get("id"))] = raw
        origin[str(raw.get("id"))] = shipped
    if override is not None and Path(override).is_file():
        where = str(override)
        for raw in _entries(Path(override).read_text(encoding="utf-8"), where):
            ident = raw.get("id")
            if not ident:
                raise InputError("missing field", file=where, column="id")
            if raw.get("disabled"):
                merged.pop(str(ident), None)
                continue
            merged[str(ident)] = {**merged.get(str(ident), {}), **raw}
            origin[str(ident)] = where
    return [_entry(raw, origin[ident]) for ident, raw in merged.items()]


# ---------------------------------------------------------------------------------------------- targets


def set_target(
    entry: CatalogEntry,
    watch: str,
    baseline: float | None,
    *,
    tier: str | None,
    previous: float | None,
    edition: str = "2024",
    rule: Mapping[str, Any] | None = None,
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
    rule = dict(rule or entry.target)
    kind = rule.get("rule")
    way = direction(watch, declared)
    higher = way == "higher"
    better = ">=" if higher else "<="
    if kind == "measurable":
        return "measurable", None, f"{watch} measurable (n >= 1)"
    if way is None and kind in ("next_tier", "previous", "relative", "threshold"):
        return better, None, f"{watch}: direction unknown (declare better: higher or lower)"
    if kind == "threshold":
        if threshold is None:
            return set_target(entry, watch, baseline, tier=tier, previous=previous, edition=edition,
                              rule=rule.get("fallback") or {"rule": "relative", "change": 0.2}, declared=declared)
        return better, threshold, f"{watch} {better} {fmt_value(watch, threshold)} (the profiling threshold)"
    if kind == "next_tier":
        nxt = next_tier_cutoff(watch, tier, edition)
        if nxt is None:
            return set_target(
                entry,
                watch,
                baseline,
                tier=tier,
                previous=previous,
                edition=edition,
                rule=rule.get("fallback") or {"rule": "relative", "change": 0.2},
                declared=declared,
            )
        name, cutoff = nxt
        op = ">=" if higher else ("<=" if watch == "change_fail_rate" else "<")
        return op, cutoff, f"{watch} {op} {fmt_value(watch, cutoff)} ({name})"
    if kind == "previous":
        if previous is None:
            return better, None, f"{watch} back to the previous iteration's value (unknown)"
        return better, previous, f"{watch} {better} {fmt_value(watch, previous)} (previous iteration)"
    if kind == "relative":
        change = number(rule.get("change")) or 0.2
        if baseline is None:
            return better, None, f"{watch} {change:.0%} better than now (no value now)"
        target = baseline * (1 + change) if higher else baseline * (1 - change)
        return better, round(target, 6), f"{watch} {better} {fmt_value(watch, target)} ({change:.0%} better)"
    if kind in ("at_most", "at_least"):
        value = number(rule.get("value"))
        op = "<=" if kind == "at_most" else ">="
        return op, value, f"{watch} {op} {fmt_value(watch, value)}"
    raise ValueError(f"unknown target rule {kind!r}")


# ---------------------------------------------------------------------------------------------- proposal


def rice(reach: float, impact: float, confidence: float, effort: float, votes: int = 0) -> float:
    """RICE score with the vote boost, rounded to 4 decimals (dimensionless)."""
    return round(reach * impact * confidence / effort * (1 + VOTE_WEIGHT * max(votes, 0)), 4)


def propose(
    signals: Sequence[Signal],
    catalog: Sequence[CatalogEntry],
    *,
    metrics: Mapping[str, Any],
    measurements: Mapping[str, Mapping[str, Any]],
    previous_measurements: Mapping[str, Mapping[str, Any]] | None = None,
    votes: Mapping[str, int] | None = None,
    iteration_id: str,
    due: str,
    tier_edition: str = "2024",
) -> list[ActionItem]:
    """Every catalog entry that answers a signal, as an :class:`ActionItem`, best score first.

    At most one item per catalog entry (its ``action_id`` is the entry id): an entry answering several
    signals (e.g. the hit ratio of two cached scenarios) is kept once, with its best score, and its
    evidence says how many more signals it answers. A ``finding`` entry without a metric answers only
    finding metrics that no other entry names.
    """
    votes = votes or {}
    best: dict[str, ActionItem] = {}
    also: dict[str, int] = {}
    named = {e.signal.get("metric") for e in catalog if e.signal.get("kind") == "finding" and e.signal.get("metric")}
    for signal in signals:
        for entry in catalog:
            if not entry.matches(signal):
                continue
            if signal.kind == "finding" and not entry.signal.get("metric") and signal.metric in named:
                continue  # a specific entry answers this finding metric
            key = entry.id
            finding = signal.kind == "finding"
            watch = signal.metric if (entry.watch == "finding" or finding) else entry.watch
            details: dict[str, Any] = {}
            if finding:
                baseline = signal.value
                details = {k: signal.details.get(k) for k in ("measurement", "scenario", "threshold", "better")}
            else:
                baseline = number((measurements.get(watch) or {}).get("value"))
            prev = number(((previous_measurements or {}).get(watch) or {}).get("value"))
            tier = metric_block(metrics, watch).get("tier")
            comparator, target, text = set_target(
                entry, watch, baseline, tier=tier, previous=prev, edition=tier_edition,
                threshold=number(signal.details.get("threshold")) if finding else None,
                declared=signal.details.get("better") if finding else None,
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
        update: dict[str, Any] = {"due": due or item.due}
        if now is None and votes is not None:
            n_votes = int(votes.get(item.metric, 0))
            update.update(votes=n_votes,
                          score=rice(item.reach, item.impact, item.confidence, item.effort, n_votes))
        if now is not None:
            update.update(
                evidence=now.evidence,
                reach=now.reach,
                impact=now.impact,
                confidence=now.confidence,
                votes=now.votes,
                score=now.score,
            )
        kept.append(replace(item, **update))
    kept.sort(key=lambda i: (i.carried_from or i.id, _rank_key(i)))
    once: dict[str, ActionItem] = {}
    for item in kept:  # one item per catalog entry: the oldest carried item of an entry stands for it
        once.setdefault(item.action_id, item)
    kept = sorted(once.values(), key=_rank_key)
    carried_ids = {c.action_id for c in kept}
    new = [c for c in candidates if c.action_id not in carried_ids]
    chosen = (kept + sorted(new, key=_rank_key))[: max(0, int(max_actions))]
    return [replace(item, rank=i + 1) for i, item in enumerate(chosen)]


def to_csv(items: Sequence[ActionItem]) -> str:
    """``actions.csv``: one row per item, columns :data:`CSV_FIELDS`."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for item in items:
        row = item.to_dict()
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_FIELDS})
    return buf.getvalue()
