"""The retro's typed facts: signals (what an action can answer), claims (what went well or worse), measurements
(what a follow-up compares with a target) and the iterations they are read from.

Frozen dataclasses; ``to_dict()`` gives the JSON of ``metrics.json`` (docs/retro.md, "Records") and is only
called when a record is written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from hivepulse.vocabulary import STAGES

if TYPE_CHECKING:  # the engine (pandas, numpy) is not needed to name these: `hivepulse retro` checks the
    # catalog before a kernel starts, and importing pandas there cost a third of a second
    from hivepulse.metrics.results import DoraReport, JSONObject

SignalKind = Literal["below_tier", "regression", "dominant_stage", "big_batches", "unrecovered_failures",
                     "missing_data", "finding"]
SIGNAL_KINDS: tuple[SignalKind, ...] = ("below_tier", "regression", "dominant_stage", "big_batches",
                                        "unrecovered_failures", "missing_data", "finding")
"""Every kind of signal (docs/action-items.md, "Signals"), in the order :func:`~hivepulse.retro.signals.detect`
emits them."""


@dataclass(frozen=True)
class Iteration:
    """One iteration as the retro reads it: the engine's report (figures as published) and whether the
    window lies inside the data (:class:`~hivepulse.retro.coverage.Coverage`)."""

    report: DoraReport
    covered: bool = True


# ---------------------------------------------------------------------------------------------- details


@dataclass(frozen=True)
class TierGap:
    """Details of a ``below_tier`` signal: the next tier and its cut-off (the metric's unit)."""

    next_tier: str | None
    cutoff: float | None

    def to_dict(self) -> JSONObject:
        return {"next_tier": self.next_tier, "cutoff": self.cutoff}


@dataclass(frozen=True)
class RegressionDetail:
    """Details of a ``regression`` signal: the previous iteration's value and the test's p-value."""

    previous_value: float | None
    p_value: float | None

    def to_dict(self) -> JSONObject:
        return {"previous_value": self.previous_value, "p_value": self.p_value}


@dataclass(frozen=True)
class StageStat:
    """One lead-time stage over the pull-request changes: its median hours, its share of the summed stage
    hours, the share of changes where it is the longest stage, and the number of changes."""

    median_hours: float
    share: float
    largest_share: float
    n: int

    def to_dict(self) -> JSONObject:
        # n is written as a float, as the records always had it
        return {"median_hours": self.median_hours, "share": self.share, "largest_share": self.largest_share,
                "n": float(self.n)}


@dataclass(frozen=True)
class StageShares:
    """The four lead-time stages (:data:`hivepulse.vocabulary.STAGES`); the details of a ``dominant_stage``
    signal."""

    coding: StageStat
    pickup: StageStat
    review: StageStat
    deploy: StageStat

    def get(self, stage: str) -> StageStat:
        if stage not in STAGES:
            raise KeyError(stage)
        stat: StageStat = getattr(self, stage)
        return stat

    def to_dict(self) -> JSONObject:
        return {stage: self.get(stage).to_dict() for stage in STAGES}


@dataclass(frozen=True)
class FindingRef:
    """Details of a ``finding`` signal: where the profiling finding was measured and what it is judged by.
    ``measurement`` is the name the follow-up reads (``hit_ratio@memory-naive``)."""

    scenario: str | None
    threshold: float | None
    better: str | None
    significant: bool | None
    measurement: str

    def to_dict(self) -> JSONObject:
        return {"scenario": self.scenario, "threshold": self.threshold, "better": self.better,
                "significant": self.significant, "measurement": self.measurement}


SignalDetails = TierGap | RegressionDetail | StageShares | FindingRef


# ---------------------------------------------------------------------------------------------- signals


@dataclass(frozen=True)
class Signal:
    """One fact an action can answer, with its RICE terms.

    ``reach`` is a fraction in [0, 1] (share of changes or deployments affected), ``impact`` is on the RICE
    scale 0.25-3, ``confidence`` a fraction in [0, 1]. ``evidence`` is one line of numbers. ``details``
    depends on the kind (:class:`TierGap`, :class:`RegressionDetail`, :class:`StageShares`,
    :class:`FindingRef`; ``None`` for the others).
    """

    kind: SignalKind
    metric: str
    evidence: str
    reach: float
    impact: float
    confidence: float
    stage: str | None = None
    value: float | None = None
    n: int | None = None
    tier: str | None = None
    details: SignalDetails | None = None

    @property
    def finding(self) -> FindingRef | None:
        """The profiling finding behind a ``finding`` signal (``None`` for the other kinds)."""
        return self.details if isinstance(self.details, FindingRef) else None

    def to_dict(self) -> JSONObject:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["details"] = self.details.to_dict() if self.details is not None else {}
        return out


# ---------------------------------------------------------------------------------------------- claims

ClaimKind = Literal["improved", "regressed", "elite", "streak", "below_tier", "tier_drop", "watch", "action"]


@dataclass(frozen=True)
class Claim:
    """A statement for *What went well* / *What to improve*, with the numbers that back it."""

    kind: ClaimKind
    metric: str
    text: str

    def to_dict(self) -> JSONObject:
        return {"kind": self.kind, "metric": self.metric, "text": self.text}


@dataclass(frozen=True)
class Claims:
    """*What to improve*, *What went well* and the *watch* list (worse, not significantly), in the order they
    are shown."""

    went_well: list[Claim] = dataclasses.field(default_factory=list)
    to_improve: list[Claim] = dataclasses.field(default_factory=list)
    watch: list[Claim] = dataclasses.field(default_factory=list)

    def section(self, name: str) -> list[Claim]:
        """``went_well``, ``to_improve`` or ``watch``."""
        if name == "went_well":
            return self.went_well
        if name == "to_improve":
            return self.to_improve
        if name == "watch":
            return self.watch
        raise KeyError(name)

    def to_dict(self) -> JSONObject:
        return {"went_well": [c.to_dict() for c in self.went_well],
                "to_improve": [c.to_dict() for c in self.to_improve],
                "watch": [c.to_dict() for c in self.watch]}


# ---------------------------------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class Measurement:
    """A named value of one iteration that an action item's target can watch (docs/action-items.md, "Watched
    measurements"): its value (``None``: not measurable) and n. ``covered`` is False when the iteration lies
    outside the data; ``profiling_run`` names the run a profiling measurement comes from."""

    value: float | None
    n: int
    covered: bool = True
    profiling_run: str | None = None
    rounded_in_record: bool = dataclasses.field(default=False, compare=False)
    """The value is unrounded here and written rounded (as the JSON contract prints the metric) in
    ``metrics.json``: the five DORA metrics, whose follow-up compares the exact value."""

    def to_dict(self) -> JSONObject:
        value = self.value
        if value is not None and self.rounded_in_record:
            from hivepulse.metrics.results import round_float

            value = round_float(value)
        out: JSONObject = {"value": value, "n": self.n}
        if not self.covered:
            out["covered"] = False
        if self.profiling_run is not None:
            out["profiling_run"] = self.profiling_run
        return out


__all__ = ["SIGNAL_KINDS", "Claim", "ClaimKind", "Claims", "FindingRef", "Iteration", "Measurement",
           "RegressionDetail", "Signal", "SignalDetails", "SignalKind", "StageShares", "StageStat", "TierGap"]
