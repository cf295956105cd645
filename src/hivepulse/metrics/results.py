"""The engine's typed results: one frozen dataclass per metric, the data-quality counts, the comparison with the
previous window, and :class:`DoraReport` that holds them with the tables behind them.

Values are unrounded in the objects; :meth:`DoraReport.to_dict` gives the rounded, JSON-safe contract of
``docs/cli.md`` (the only place the results become dicts), and :meth:`DoraReport.published` the same typed
report with every figure rounded as the contract prints it (what the retro quotes, so each of its numbers is
one a reader finds in ``metrics.json``).

Field order is the key order of the JSON contract. ``metric["value"]`` (the contract's key spelling) reads
the same field as ``metric.value``, for code written against the earlier dict results.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from hivepulse.metrics import quickcheck
from hivepulse.metrics.tiers import Tier
from hivepulse.vocabulary import METRICS

if TYPE_CHECKING:  # the typed results need no pandas to be named: the retro's records and the `hivepulse
    # retro` checks import them before any engine runs (pandas costs a third of a second to import)
    import pandas as pd

    from hivepulse.metrics.config import MetricsConfig
    from hivepulse.metrics.window import Window

SCHEMA_ID = "hivepulse.metrics/1"
JSON: TypeAlias = "None | bool | int | float | str | list[JSON] | dict[str, JSON]"
"""A JSON value: what ``to_dict()`` methods return at the edge (records on disk, CLI output)."""
JSONObject: TypeAlias = "dict[str, JSON]"
"""A JSON object."""
Change = Literal["improved", "regressed", "unchanged"]
"""The verdict of a comparison: a significant change for the better or the worse, or none."""

_T = TypeVar("_T")
_M = TypeVar("_M", bound="Metric")


def round_float(x: float) -> float:
    """Round for output: 4 decimals when ``|x| >= 1``, else 4 significant digits. Only at output time."""
    if x == 0 or not math.isfinite(x):
        return x
    if abs(x) >= 1:
        return round(x, 4)
    return float(f"{x:.4g}")


def _published(value: object) -> object:
    """A field's value as the JSON contract prints it: floats rounded, non-finite floats ``None``."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    return round_float(value) if math.isfinite(value) else None


def _rounded(obj: _T) -> _T:
    """A copy of the frozen dataclass ``obj`` with every float field rounded (:func:`_published`)."""
    changes = {f.name: _published(getattr(obj, f.name)) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


class _ByKey:
    """``obj["field"]``: read a field by its JSON key (the docs/cli.md spelling); KeyError for other keys."""

    def __getitem__(self, key: str) -> Any:
        if key in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            return getattr(self, key)
        raise KeyError(key)


# --------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True, kw_only=True)
class Metric(_ByKey):
    """What every metric states: its point value, the number of observations behind it, the 95 % CI
    (``None`` bounds without data), its tier (``None``: untiered or no value) and its unit."""

    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    tier: Tier | None
    unit: str

    @property
    def ci(self) -> tuple[float, float] | None:
        """``(ci_low, ci_high)``, or ``None`` when there is no interval."""
        return None if self.ci_low is None or self.ci_high is None else (self.ci_low, self.ci_high)

    def rounded(self: _T) -> _T:
        """The same metric with its figures rounded as the JSON contract prints them."""
        return _rounded(self)

    def to_dict(self) -> JSONObject:
        """The metric's block of the JSON contract (unrounded; :meth:`DoraReport.to_dict` rounds)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[_M], data: Mapping[str, Any]) -> _M:
        """The metric of one block of the JSON contract (``metrics.json``, ``--format json``)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = data[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class DeploymentFrequency(Metric):
    """Successful deployments per week (docs/metrics.md section 3); ``n`` = ``deployments``."""

    deployments: int
    deployment_days: int
    per_day: float
    weeks: int
    median_deployment_days_per_week: float | None


@dataclass(frozen=True, kw_only=True)
class LeadTime(Metric):
    """Median hours from commit to the counted deployment (section 4), with its 75th and 90th percentiles."""

    p75: float | None
    p90: float | None


@dataclass(frozen=True, kw_only=True)
class ChangeFailRate(Metric):
    """Failed deployments / deployments finished (section 6); ``by_reason`` counts each failure reason."""

    failed: int
    deployments: int
    by_reason: Mapping[str, int]


@dataclass(frozen=True, kw_only=True)
class RecoveryTime(Metric):
    """Median hours from a failed deployment to its recovery (section 7); ``unrecovered`` lists the failed
    deployments without one."""

    failed: int
    unrecovered: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ReworkRate(Metric):
    """Unplanned deployments / counted deployments (section 8)."""

    unplanned: int
    deployments: int


@dataclass(frozen=True)
class Metrics:
    """The five metrics of one window, in the order of :data:`hivepulse.vocabulary.METRICS`."""

    deployment_frequency: DeploymentFrequency
    lead_time: LeadTime
    change_fail_rate: ChangeFailRate
    recovery_time: RecoveryTime
    rework_rate: ReworkRate

    def get(self, name: str) -> Metric:
        """The metric called ``name`` (one of the five); KeyError otherwise."""
        if name not in METRICS:
            raise KeyError(name)
        metric: Metric = getattr(self, name)
        return metric

    def __iter__(self) -> Iterator[tuple[str, Metric]]:
        """``(name, metric)`` pairs in display order."""
        return ((name, self.get(name)) for name in METRICS)

    def tier_of(self, name: str) -> Tier | None:
        """The tier of ``name`` when it is one of the five metrics, else ``None`` (any other measurement)."""
        return self.get(name).tier if name in METRICS else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metrics:
        """The five metrics of a JSON contract (``DoraReport.to_dict()``, the ``metrics`` of ``metrics.json``)."""
        return cls(DeploymentFrequency.from_dict(data["deployment_frequency"]), LeadTime.from_dict(data["lead_time"]),
                   ChangeFailRate.from_dict(data["change_fail_rate"]), RecoveryTime.from_dict(data["recovery_time"]),
                   ReworkRate.from_dict(data["rework_rate"]))

    def rounded(self) -> Metrics:
        """The five metrics with their figures rounded as the JSON contract prints them."""
        return Metrics(self.deployment_frequency.rounded(), self.lead_time.rounded(),
                       self.change_fail_rate.rounded(), self.recovery_time.rounded(), self.rework_rate.rounded())


# --------------------------------------------------------------------------------------------- quality


@dataclass(frozen=True)
class DataQuality(_ByKey):
    """Counts of what the rules excluded or could not attribute, the small samples and one human sentence per
    non-zero count (docs/metrics.md section 10)."""

    negative_lead_times: int
    missing_commit_times: int
    first_deployment_changes_excluded: int
    undeployed_changes: int
    changes_on_failed_deployments: int
    deployments_without_changes: int
    unattributed_incidents: int
    negative_recovery_times: int
    small_samples: tuple[str, ...]
    notes: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        """The counts alone, by name, in contract order."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)}

    def to_dict(self) -> JSONObject:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# --------------------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class MetricChange:
    """One metric compared with the previous window (docs/metrics.md section 11)."""

    previous_value: float | None
    previous_n: int
    delta: float | None
    test: str
    p_value: float | None
    significant: bool
    direction: Change

    @property
    def claimed(self) -> bool:
        """Whether a change may be claimed: significant and improved or regressed."""
        return self.significant and self.direction != "unchanged"

    def to_dict(self) -> JSONObject:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Comparison:
    """Every metric of a window compared with the window of the same length just before it."""

    previous_window: Window
    tz: str
    deployment_frequency: MetricChange
    lead_time: MetricChange
    change_fail_rate: MetricChange
    recovery_time: MetricChange
    rework_rate: MetricChange

    def get(self, name: str) -> MetricChange:
        if name not in METRICS:
            raise KeyError(name)
        change: MetricChange = getattr(self, name)
        return change

    def rounded(self) -> Comparison:
        """The comparison with its figures rounded as the JSON contract prints them."""
        return Comparison(self.previous_window, self.tz, _rounded(self.deployment_frequency),
                          _rounded(self.lead_time), _rounded(self.change_fail_rate), _rounded(self.recovery_time),
                          _rounded(self.rework_rate))

    def to_dict(self) -> JSONObject:
        out: JSONObject = {"previous_window": self.previous_window.to_dict(self.tz)}
        out.update({name: self.get(name).to_dict() for name in METRICS})
        return out


# --------------------------------------------------------------------------------------------- report


@dataclass(frozen=True, eq=False)
class DoraReport:
    """The five metrics of one environment and window, with the rows behind them.

    Tables:

    - ``deployments``: the environment's deployments finished in the window (any status), annotated with
      ``counted``, ``failed``, ``failure_reasons`` (and their evidence ``incident_ids``, ``rolled_back_by``,
      ``fixed_by``), ``recovered_at``, ``recovery_hours``, ``changes``.
    - ``lead_times``: one row per counted change (hours), with PR stage columns (NaN when unknown/negative),
      ordered by deployment (finish time) then commit time.
    - ``recoveries``: one row per failed deployment in the window; ``recovery_status`` is ``recovered``,
      ``unrecovered`` or ``negative`` (excluded).
    - ``weekly``: one row per local Monday-start week intersecting the window.
    """

    window: Window
    config: MetricsConfig
    metrics: Metrics
    data_quality: DataQuality
    deployments: pd.DataFrame
    lead_times: pd.DataFrame
    recoveries: pd.DataFrame
    weekly: pd.DataFrame
    comparison: Comparison | None = None
    source: str = ""
    exact_metrics: Metrics | None = dataclasses.field(default=None, repr=False)
    """The unrounded metrics of a :meth:`published` report (``None`` in a report that was never rounded: its
    :attr:`metrics` are exact); read through :attr:`exact`."""
    quick_check_of_exact: quickcheck.QuickCheck | None = dataclasses.field(default=None, repr=False)
    """The Quick Check computed from the unrounded figures (kept by :meth:`published`, so rounding never moves a
    value across a bucket edge); ``None``: computed on demand from :attr:`metrics`."""

    @property
    def deployment_frequency(self) -> DeploymentFrequency:
        return self.metrics.deployment_frequency

    @property
    def lead_time(self) -> LeadTime:
        return self.metrics.lead_time

    @property
    def change_fail_rate(self) -> ChangeFailRate:
        return self.metrics.change_fail_rate

    @property
    def recovery_time(self) -> RecoveryTime:
        return self.metrics.recovery_time

    @property
    def rework_rate(self) -> ReworkRate:
        return self.metrics.rework_rate

    def metric(self, name: str) -> Metric:
        """The metric called ``name`` (one of :data:`hivepulse.vocabulary.METRICS`)."""
        return self.metrics.get(name)

    @property
    def exact(self) -> Metrics:
        """The five metrics unrounded, also in a :meth:`published` report (verdicts compare these)."""
        return self.exact_metrics if self.exact_metrics is not None else self.metrics

    @property
    def quick_check(self) -> quickcheck.QuickCheck:
        """The DORA Quick Check (2025) scores of this window (:mod:`hivepulse.metrics.quickcheck`)."""
        if self.quick_check_of_exact is not None:
            return self.quick_check_of_exact
        m = self.exact
        values = {name: (None if metric.n == 0 else metric.value) for name, metric in m}
        return quickcheck.score(values, deployments=m.deployment_frequency.deployments,
                                window_days=self.window.days)

    def with_comparison(self, comparison: Comparison | None) -> DoraReport:
        """This report with ``comparison`` attached (or removed with ``None``)."""
        return dataclasses.replace(self, comparison=comparison)

    def published(self) -> DoraReport:
        """This report with every figure rounded as the JSON contract prints it (tables unchanged):
        ``report.published().to_dict() == report.to_dict()``."""
        return dataclasses.replace(
            self,
            metrics=self.metrics.rounded(),
            comparison=self.comparison.rounded() if self.comparison is not None else None,
            exact_metrics=self.exact,
            quick_check_of_exact=self.quick_check,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (``schema`` ``hivepulse.metrics/1``): rounded floats, ``None`` for NaN."""
        out: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "window": self.window.to_dict(self.config.tz),
            "environment": self.config.environment,
            "tier_edition": self.config.tier_edition,
        }
        for name, metric in self.metrics:
            out[name] = metric.to_dict()
        out["data_quality"] = self.data_quality.to_dict()
        out["comparison"] = self.comparison.to_dict() if self.comparison is not None else None
        out["quick_check"] = self.quick_check.to_dict()
        return json_safe(out)


def json_safe(obj: Any) -> Any:
    """``obj`` (dicts, lists, tuples, scalars, numpy scalars, timestamps) as JSON-safe values: floats rounded
    (:func:`round_float`), NaN and infinities ``None``, timestamps ISO 8601 UTC, anything else ``str``."""
    import numpy as np
    import pandas as pd

    from hivepulse.metrics.window import iso

    def safe(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): safe(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [safe(v) for v in value]
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating):
            x = float(value)
            return None if not math.isfinite(x) else round_float(x)
        if isinstance(value, pd.Timestamp):
            return iso(value)
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        return value if isinstance(value, str) else str(value)

    return safe(obj)


__all__ = [
    "JSON",
    "SCHEMA_ID",
    "JSONObject",
    "Change",
    "ChangeFailRate",
    "Comparison",
    "DataQuality",
    "DeploymentFrequency",
    "DoraReport",
    "LeadTime",
    "Metric",
    "MetricChange",
    "Metrics",
    "RecoveryTime",
    "ReworkRate",
    "json_safe",
    "round_float",
]
