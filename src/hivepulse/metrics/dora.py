"""The DORA engine: pure functions from an :class:`~hivepulse.model.EventSet` to a :class:`DoraReport`.

``compute(events, window, config)`` computes, for one environment and one window ``[since, until)`` on
``finished_at`` (UTC): deployment frequency, change lead time, change fail rate, failed deployment recovery
time and deployment rework rate, each with its n, a 95 % confidence interval and a tier. ``compare`` tests a
window against the previous one; ``iterations`` computes consecutive windows. Every rule is written out in
``docs/metrics.md``; this module performs no I/O. All work over changes is vectorized (index look-ups,
``merge_asof``, ``bincount``), so a million changes take a few seconds.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hivepulse import stats
from hivepulse.errors import InputError
from hivepulse.metrics import tiers
from hivepulse.model import EventSet

SCHEMA_ID = "hivepulse.metrics/1"
METRICS = ("deployment_frequency", "lead_time", "change_fail_rate", "recovery_time", "rework_rate")
FAILURE_REASONS = ("incident", "rollback", "status", "unplanned_fix")
"""Why a deployment counts as failed (sorted; joined with ';' in ``failure_reasons``)."""
SMALL_SAMPLE = 5
"""Metrics with ``n`` below this are listed in ``data_quality.small_samples``."""
_HOUR = np.timedelta64(3600, "s")


# --------------------------------------------------------------------------------------------- window


def parse_instant(text: str | pd.Timestamp, name: str = "timestamp") -> pd.Timestamp:
    """Parse a date or ISO 8601 timestamp to a UTC ``pd.Timestamp``.

    ``YYYY-MM-DD`` means 00:00 UTC of that day; a timestamp with an offset is converted to UTC; a naive
    timestamp is taken as UTC. Anything else raises :class:`InputError`.
    """
    if isinstance(text, pd.Timestamp):
        ts = text
    else:
        raw = str(text).strip()
        try:
            if not raw:
                raise ValueError("empty")
            ts = pd.Timestamp(raw)
        except (ValueError, TypeError, OverflowError):
            raise InputError(
                f"invalid {name}",
                value=text,
                expected="a date YYYY-MM-DD or an ISO 8601 timestamp such as 2026-04-27T09:30:00+02:00",
            ) from None
        if pd.isna(ts):
            raise InputError(f"invalid {name}", value=text, expected="a date or timestamp")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("ns")


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[since, until)`` of tz-aware UTC timestamps (on deployment ``finished_at``)."""

    since: pd.Timestamp
    until: pd.Timestamp

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if not isinstance(value, pd.Timestamp) or value.tzinfo is None:
                raise InputError(f"window {name} must be a tz-aware timestamp", value=value)
            object.__setattr__(self, name, value.tz_convert("UTC").as_unit("ns"))
        if self.until <= self.since:
            raise InputError(
                "window is empty: until must be after since",
                value=self.until.isoformat(),
                expected=f"a time after {self.since.isoformat()}",
            )

    @classmethod
    def parse(cls, since: str | pd.Timestamp, until: str | pd.Timestamp) -> Window:
        """Build a window from two dates or timestamps (see :func:`parse_instant`)."""
        return cls(parse_instant(since, "since"), parse_instant(until, "until"))

    @classmethod
    def ending(cls, until: str | pd.Timestamp, days: float) -> Window:
        """The window of ``days`` days ending at ``until``."""
        end = parse_instant(until, "until")
        return cls(end - pd.Timedelta(days=days), end)

    @property
    def days(self) -> float:
        """Length in days (float)."""
        return (self.until - self.since) / pd.Timedelta(days=1)

    def previous(self) -> Window:
        """The window of the same length immediately before this one."""
        return Window(self.since - (self.until - self.since), self.since)

    def to_dict(self, tz: str = "UTC") -> dict[str, Any]:
        return {"since": _iso(self.since), "until": _iso(self.until), "tz": tz, "days": self.days}


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of a metrics run (all values, no I/O).

    - ``environment``: the deployments measured (default ``production``).
    - ``tz``: IANA zone for day and week boundaries (weeks start Monday, local time); windows stay UTC.
    - ``tier_edition``: ``"2023"`` or ``"2024"`` (``data/tiers.yaml``).
    - ``incident_max_gap``: an incident without ``deployment_id`` is attributed to the last successful
      deployment finished at most this long before it was opened (inclusive); a ``pd.Timedelta`` or a
      number of days.
    - ``include_first_deployment``: keep changes of deployments flagged ``first_deployment`` in lead time.
    - ``default_incident_environment``: environment of incidents that do not name one.
    - ``seed``, ``n_boot``, ``alpha``: bootstrap seed, resamples and CI/test level (95 % by default).
    - ``min_effect``: a significant comparison whose relative change ``|delta| / |previous|`` is below this
      is reported as ``unchanged`` (0 = off: significance alone decides).
    """

    environment: str = "production"
    tz: str = "UTC"
    tier_edition: str = "2024"
    incident_max_gap: pd.Timedelta = pd.Timedelta(days=7)
    include_first_deployment: bool = False
    default_incident_environment: str = "production"
    seed: int = 0
    n_boot: int = 2000
    alpha: float = 0.05
    min_effect: float = 0.0

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise InputError(
                "unknown time zone", value=self.tz, expected="an IANA name such as Europe/Berlin"
            ) from None
        tiers.edition(self.tier_edition)
        gap = self.incident_max_gap
        gap = pd.Timedelta(days=gap) if isinstance(gap, int | float) else pd.Timedelta(gap)
        if gap < pd.Timedelta(0):
            raise InputError("incident max gap must not be negative", value=gap)
        object.__setattr__(self, "incident_max_gap", gap)
        if not 0 < self.alpha < 1:
            raise InputError("alpha must be between 0 and 1", value=self.alpha)
        if self.n_boot < 1:
            raise InputError("n_boot must be at least 1", value=self.n_boot)


# --------------------------------------------------------------------------------------------- report


@dataclass
class DoraReport:
    """The five metrics of one environment and window, with the rows behind them.

    Metric dicts hold unrounded values; :meth:`to_dict` gives the rounded, JSON-safe contract of
    ``docs/cli.md``. Tables:

    - ``deployments``: the environment's deployments finished in the window (any status), annotated with
      ``counted``, ``failed``, ``failure_reasons``, ``recovered_at``, ``recovery_hours``, ``changes``.
    - ``lead_times``: one row per counted change (hours), with PR stage columns (NaN when unknown/negative),
      ordered by deployment (finish time) then commit time.
    - ``recoveries``: one row per failed deployment in the window; ``recovery_status`` is ``recovered``,
      ``unrecovered`` or ``negative`` (excluded).
    - ``weekly``: one row per local Monday-start week intersecting the window.
    """

    window: Window
    config: MetricsConfig
    deployment_frequency: dict[str, Any]
    lead_time: dict[str, Any]
    change_fail_rate: dict[str, Any]
    recovery_time: dict[str, Any]
    rework_rate: dict[str, Any]
    data_quality: dict[str, Any]
    deployments: pd.DataFrame
    lead_times: pd.DataFrame
    recoveries: pd.DataFrame
    weekly: pd.DataFrame
    comparison: dict[str, Any] | None = None
    source: str = ""

    def metric(self, name: str) -> dict[str, Any]:
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (``schema`` ``hivepulse.metrics/1``): rounded floats, ``None`` for NaN."""
        out: dict[str, Any] = {
            "schema": SCHEMA_ID,
            "window": self.window.to_dict(self.config.tz),
            "environment": self.config.environment,
            "tier_edition": self.config.tier_edition,
        }
        for name in METRICS:
            out[name] = self.metric(name)
        out["data_quality"] = self.data_quality
        out["comparison"] = self.comparison
        return _json_safe(out)


# --------------------------------------------------------------------------------------------- prepare


@dataclass
class _Prepared:
    """Window-independent annotation of one environment's deployments and the change/incident links."""

    config: MetricsConfig
    deps: pd.DataFrame  # env deployments sorted by (finished_at, deployment_id), annotated
    finished: np.ndarray  # datetime64[ns] of deps.finished_at
    success: np.ndarray
    failed: np.ndarray
    reasons: dict[str, np.ndarray]
    change_pos: np.ndarray  # per change: position in deps, -1 if none / other environment
    committed: np.ndarray  # datetime64[ns]
    changes: pd.DataFrame
    unattributed_opened: np.ndarray  # datetime64[ns] of env incidents matching no deployment
    source: str
    notes: list[str]


def _naive(series: pd.Series) -> np.ndarray:
    """tz-aware UTC series -> numpy datetime64[ns] (NaT kept)."""
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")


def _bool(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def _prepare(events: EventSet, config: MetricsConfig) -> _Prepared:
    all_deps = events.deployments
    env_mask = (
        _bool(all_deps["environment"] == config.environment) & all_deps["finished_at"].notna().to_numpy()
    )
    deps = all_deps.loc[env_mask].sort_values(["finished_at", "deployment_id"], kind="mergesort")
    deps = deps.reset_index(drop=True)
    n = len(deps)
    ids = pd.Index(deps["deployment_id"].astype(object))
    if not ids.is_unique:
        dup = ids[ids.duplicated()][0]
        raise InputError("duplicate deployment_id", column="deployment_id", value=dup, expected="unique ids")
    finished = _naive(deps["finished_at"])
    status = deps["status"].astype(object)
    success = _bool(status == "success")
    kind = deps["kind"].fillna("planned").astype(object)
    unplanned = _bool(kind == "unplanned")
    pos = np.arange(n)

    # status
    reasons: dict[str, np.ndarray] = {"status": _bool(status == "failure")}

    # incidents: named, else attributed to the last successful deployment within the gap
    inc = events.incidents
    inc_env = inc["environment"].fillna(config.default_incident_environment).astype(object)
    named = inc["deployment_id"].notna().to_numpy()
    link_pos = np.full(len(inc), -1)
    if named.any():
        link_pos[named] = ids.get_indexer(inc.loc[named, "deployment_id"].astype(object))
    opened = _naive(inc["opened_at"])
    unnamed = ~named & _bool(inc_env == config.environment) & ~np.isnat(opened)
    good_success = pd.DataFrame({"t": finished[success], "pos": pos[success]})
    if unnamed.any():
        left = pd.DataFrame({"t": opened[unnamed], "row": np.flatnonzero(unnamed)}).sort_values("t")
        if len(good_success):
            hit = pd.merge_asof(
                left,
                good_success,
                on="t",
                direction="backward",
                allow_exact_matches=False,
                tolerance=pd.Timedelta(config.incident_max_gap),
            )
            link_pos[hit["row"].to_numpy()] = hit["pos"].fillna(-1).to_numpy(dtype=np.int64)
    linked = link_pos >= 0
    unattributed_opened = opened[unnamed & ~linked]
    has_incident = np.zeros(n, dtype=bool)
    has_incident[link_pos[linked]] = True
    reasons["incident"] = has_incident

    # rollbacks: any deployment (any environment, any status) naming it in rollback_of
    rolled_back = set(all_deps["rollback_of"].dropna().astype(object))
    reasons["rollback"] = deps["deployment_id"].astype(object).isin(rolled_back).to_numpy()

    # unplanned fix: each successful unplanned deployment marks the latest successful planned one before it
    fixed = np.zeros(n, dtype=bool)
    fixes = success & unplanned
    planned_ok = success & ~unplanned
    if fixes.any() and planned_ok.any():
        hit = pd.merge_asof(
            pd.DataFrame({"t": finished[fixes]}),
            pd.DataFrame({"t": finished[planned_ok], "pos": pos[planned_ok]}),
            on="t",
            direction="backward",
            allow_exact_matches=False,
        )
        targets = hit["pos"].dropna().to_numpy(dtype=np.int64)
        fixed[targets] = True
    reasons["unplanned_fix"] = fixed

    failed = np.zeros(n, dtype=bool)
    labels = np.full(n, "", dtype=object)
    for name in FAILURE_REASONS:
        mask = reasons[name]
        failed |= mask
        labels = np.where(mask, np.where(labels == "", name, labels + ";" + name), labels)

    # recovery of every failed deployment: earlier of incident resolution and next good deployment
    inc_res = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if linked.any():
        links = pd.DataFrame({"pos": link_pos[linked], "resolved": _naive(inc["resolved_at"])[linked]})
        grouped = links.groupby("pos")["resolved"].agg(["size", "count", "max"])
        complete = grouped[grouped["size"] == grouped["count"]]
        inc_res[complete.index.to_numpy()] = complete["max"].to_numpy("datetime64[ns]")
    next_good = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    next_good_id = np.full(n, None, dtype=object)
    good = success & ~failed
    if failed.any() and good.any():
        hit = pd.merge_asof(
            pd.DataFrame({"t": finished[failed], "row": pos[failed]}),
            pd.DataFrame({"t": finished[good], "pos": pos[good], "good_t": finished[good]}),
            on="t",
            direction="forward",
            allow_exact_matches=False,
        )
        ok = hit["pos"].notna().to_numpy()
        rows = hit["row"].to_numpy()[ok]
        next_good[rows] = hit["good_t"].to_numpy("datetime64[ns]")[ok]
        next_good_id[rows] = (
            deps["deployment_id"].astype(object).to_numpy()[hit["pos"].to_numpy()[ok].astype(int)]
        )
    inc_res = np.where(failed, inc_res, np.datetime64("NaT"))
    recovered_at = np.where(
        np.isnat(inc_res), next_good, np.where(np.isnat(next_good), inc_res, np.minimum(inc_res, next_good))
    )
    recovered_by = np.where(
        np.isnat(recovered_at), None, np.where(recovered_at == inc_res, "incident", "deployment")
    )
    recovery_hours = (recovered_at - finished) / _HOUR
    rec_status = np.where(
        ~failed,
        None,
        np.where(
            np.isnat(recovered_at), "unrecovered", np.where(recovery_hours < 0, "negative", "recovered")
        ),
    )

    deps = deps.assign(
        failed=failed,
        failure_reasons=labels,
        incident_resolved_at=pd.Series(inc_res).dt.tz_localize("UTC"),
        next_good_deployment_id=pd.array(next_good_id, dtype="string"),
        next_good_finished_at=pd.Series(np.where(failed, next_good, np.datetime64("NaT"))).dt.tz_localize(
            "UTC"
        ),
        recovered_at=pd.Series(recovered_at).dt.tz_localize("UTC"),
        recovered_by=pd.array(recovered_by, dtype="string"),
        recovery_hours=np.where(failed, recovery_hours, np.nan),
        recovery_status=pd.array(rec_status, dtype="string"),
    )

    # changes -> position of their deployment (-1: none, or another environment)
    changes = events.changes
    change_pos = ids.get_indexer(changes["deployment_id"].astype(object)) if n else np.full(len(changes), -1)
    return _Prepared(
        config=config,
        deps=deps,
        finished=finished,
        success=success,
        failed=failed,
        reasons=reasons,
        change_pos=np.asarray(change_pos),
        committed=_naive(changes["committed_at"]),
        changes=changes,
        unattributed_opened=unattributed_opened,
        source=events.source,
        notes=list(events.notes),
    )


# --------------------------------------------------------------------------------------------- metrics


def _metric(value: float | None, n: int, ci: tuple[float, float] | None, tier: str | None, unit: str) -> dict:
    return {
        "value": value,
        "n": int(n),
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
        "tier": tier,
        "unit": unit,
    }


def _deployment_frequency(p: _Prepared, window: Window, counted: np.ndarray) -> tuple[dict, pd.DataFrame]:
    cfg = p.config
    k = int(counted.sum())
    days = window.days
    local = pd.Series(p.finished[counted]).dt.tz_localize("UTC").dt.tz_convert(cfg.tz).dt.tz_localize(None)
    day = local.dt.floor("D")
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    first = _week_start(window.since, cfg.tz)
    last = _week_start(window.until - pd.Timedelta(1, "ns"), cfg.tz)
    weeks = pd.date_range(first, last, freq="7D")
    frame = pd.DataFrame({"week": week, "day": day})
    weekly = pd.DataFrame(
        {
            "deployments": frame.groupby("week").size(),
            "deployment_days": frame.groupby("week")["day"].nunique(),
        }
    ).reindex(weeks, fill_value=0)
    weekly.index.name = "week_start"
    weekly = weekly.reset_index()
    weekly["week_start"] = weekly["week_start"].dt.date
    low, high = stats.garwood(k, alpha=cfg.alpha)
    scale = 7 / days
    metric = _metric(
        k * scale,
        k,
        (low * scale, high * scale),
        tiers.classify_frequency(k, days, cfg.tier_edition),
        "deployments/week",
    )
    metric.update(
        deployments=k,
        deployment_days=int(day.nunique()),
        per_day=k / days,
        weeks=len(weeks),
        median_deployment_days_per_week=float(np.median(weekly["deployment_days"])) if len(weeks) else None,
    )
    return metric, weekly


def _week_start(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Local Monday 00:00 (naive local time) of the week holding ``ts``."""
    local = ts.tz_convert(tz).tz_localize(None).floor("D")
    return local - pd.Timedelta(days=local.day_of_week)


def _gather(values: np.ndarray, pos: np.ndarray, fill: object) -> np.ndarray:
    """``values[pos]`` with ``fill`` where ``pos < 0`` (also when ``values`` is empty)."""
    if values.size == 0:
        return np.full(pos.shape, fill, dtype=values.dtype)
    return np.where(pos >= 0, values[np.where(pos >= 0, pos, 0)], fill)


def _lead_time(
    p: _Prepared, window: Window, counted: np.ndarray, in_window: np.ndarray
) -> tuple[dict, dict, pd.DataFrame]:
    cfg = p.config
    pos = p.change_pos
    deployed = pos >= 0
    first_flag = p.deps["first_deployment"].fillna(False).to_numpy(dtype=bool)
    on_counted = deployed & _gather(counted, pos, False)
    on_failed_attempt = deployed & _gather(in_window & ~p.success, pos, False)
    first_excl = on_counted & _gather(first_flag, pos, False) & (not cfg.include_first_deployment)
    candidate = on_counted & ~first_excl
    hours = (_gather(p.finished, pos, np.datetime64("NaT")) - p.committed) / _HOUR
    missing = candidate & np.isnan(hours)
    negative = candidate & (hours < 0)
    keep = candidate & (hours >= 0)
    until = np.datetime64(window.until.tz_localize(None).as_unit("ns"))
    undeployed = p.changes["deployment_id"].isna().to_numpy() & (p.committed < until)

    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((p.committed[rows], pos[rows]))]  # by deployment, then commit time
    ch = p.changes.iloc[rows]
    fin = p.finished[pos[rows]]
    committed = p.committed[rows]

    def span(end: np.ndarray, start: np.ndarray) -> np.ndarray:
        out = (end - start) / _HOUR
        return np.where(out >= 0, out, np.nan)

    pr_opened = _naive(ch["pr_opened_at"])
    first_review = _naive(ch["first_review_at"])
    merged = _naive(ch["merged_at"])
    lead = hours[rows]
    table = pd.DataFrame(
        {
            "change_id": ch["change_id"].to_numpy(),
            "deployment_id": ch["deployment_id"].to_numpy(),
            "committed_at": pd.Series(committed).dt.tz_localize("UTC"),
            "finished_at": pd.Series(fin).dt.tz_localize("UTC"),
            "lead_time_hours": lead,
            "coding_hours": span(pr_opened, committed),
            "pickup_hours": span(first_review, pr_opened),
            "review_hours": span(merged, first_review),
            "deploy_hours": span(fin, merged),
        }
    )
    n = lead.size
    value = stats.median(lead)
    metric = _metric(
        value,
        n,
        stats.median_ci(lead, n_boot=cfg.n_boot, alpha=cfg.alpha, seed=cfg.seed),
        tiers.classify("lead_time", value, cfg.tier_edition),
        "hours",
    )
    metric.update(p75=stats.percentile(lead, 75), p90=stats.percentile(lead, 90))
    quality = {
        "negative_lead_times": int(negative.sum()),
        "missing_commit_times": int(missing.sum()),
        "first_deployment_changes_excluded": int(first_excl.sum()),
        "undeployed_changes": int(undeployed.sum()),
        "changes_on_failed_deployments": int(on_failed_attempt.sum()),
    }
    return metric, quality, table


def _rate(k: int, n: int, alpha: float) -> tuple[float | None, tuple[float, float] | None]:
    return (k / n if n else None), stats.wilson(k, n, alpha=alpha)


def compute(
    events: EventSet, window: Window, config: MetricsConfig | None = None, *, compare_previous: bool = False
) -> DoraReport:
    """The DORA report of ``config.environment`` over ``window``.

    With ``compare_previous``, the window of the same length immediately before is computed too and
    ``report.comparison`` holds :func:`compare` of the two.
    """
    config = config or MetricsConfig()
    prepared = _prepare(events, config)
    report = _report(prepared, window)
    if compare_previous:
        report.comparison = compare(report, _report(prepared, window.previous()))
    return report


def iterations(
    events: EventSet,
    until: str | pd.Timestamp,
    days: float,
    count: int,
    config: MetricsConfig | None = None,
) -> list[DoraReport]:
    """``count`` consecutive windows of ``days`` days ending at ``until``, oldest first.

    Window ``i`` (0-based) is ``[until - (count - i) * days, until - (count - i - 1) * days)``.
    """
    if count < 1 or days <= 0:
        raise InputError("iterations need count >= 1 and days > 0", value=(count, days))
    config = config or MetricsConfig()
    prepared = _prepare(events, config)
    end = parse_instant(until, "until")
    step = pd.Timedelta(days=days)
    windows = [Window(end - (count - i) * step, end - (count - i - 1) * step) for i in range(count)]
    return [_report(prepared, w) for w in windows]


def _report(p: _Prepared, window: Window) -> DoraReport:
    cfg = p.config
    since = np.datetime64(window.since.tz_localize(None).as_unit("ns"))
    until = np.datetime64(window.until.tz_localize(None).as_unit("ns"))
    in_window = (p.finished >= since) & (p.finished < until)
    counted = in_window & p.success

    df, weekly = _deployment_frequency(p, window, counted)
    lt, lt_quality, lead_table = _lead_time(p, window, counted, in_window)

    # change fail rate
    denom = int(in_window.sum())
    failed_in = p.failed & in_window
    k_failed = int(failed_in.sum())
    value, ci = _rate(k_failed, denom, cfg.alpha)
    cfr = _metric(value, denom, ci, tiers.classify("change_fail_rate", value, cfg.tier_edition), "fraction")
    cfr.update(
        failed=k_failed,
        deployments=denom,
        by_reason={name: int((p.reasons[name] & in_window).sum()) for name in FAILURE_REASONS},
    )

    # recovery time
    deps_win = p.deps.loc[in_window].copy()
    recoveries = deps_win.loc[
        deps_win["failed"],
        [
            "deployment_id",
            "finished_at",
            "status",
            "failure_reasons",
            "incident_resolved_at",
            "next_good_deployment_id",
            "next_good_finished_at",
            "recovered_at",
            "recovered_by",
            "recovery_hours",
            "recovery_status",
        ],
    ].reset_index(drop=True)
    ok = (recoveries["recovery_status"] == "recovered").fillna(False).to_numpy(dtype=bool)
    rec_hours = recoveries["recovery_hours"].to_numpy()[ok]
    value = stats.median(rec_hours)
    rec = _metric(
        value,
        rec_hours.size,
        stats.median_ci(rec_hours, n_boot=cfg.n_boot, alpha=cfg.alpha, seed=cfg.seed),
        tiers.classify("recovery_time", value, cfg.tier_edition),
        "hours",
    )
    unrecovered = recoveries.loc[recoveries["recovery_status"] == "unrecovered", "deployment_id"]
    rec.update(failed=len(recoveries), unrecovered=[str(x) for x in unrecovered])
    negative_rec = int((recoveries["recovery_status"] == "negative").sum())

    # rework rate
    k_counted = int(counted.sum())
    kind = p.deps["kind"].fillna("planned").astype(object).to_numpy()
    k_unplanned = int((counted & (kind == "unplanned")).sum())
    value, ci = _rate(k_unplanned, k_counted, cfg.alpha)
    rework = _metric(value, k_counted, ci, None, "fraction")
    rework.update(unplanned=k_unplanned, deployments=k_counted)

    # annotated deployments of the window
    changes_per = np.bincount(p.change_pos[p.change_pos >= 0], minlength=len(p.deps))
    deps_win.insert(deps_win.columns.get_loc("status") + 1, "counted", counted[in_window])
    deps_win["changes"] = changes_per[in_window]
    deps_win = deps_win.reset_index(drop=True)
    without_changes = int((counted & (changes_per == 0)).sum())

    opened = p.unattributed_opened
    unattributed = int(((opened >= since) & (opened < until)).sum())

    metrics = {
        "deployment_frequency": df,
        "lead_time": lt,
        "change_fail_rate": cfr,
        "recovery_time": rec,
        "rework_rate": rework,
    }
    small = [name for name in METRICS if metrics[name]["n"] < SMALL_SAMPLE]
    quality: dict[str, Any] = {
        **lt_quality,
        "deployments_without_changes": without_changes,
        "unattributed_incidents": unattributed,
        "negative_recovery_times": negative_rec,
        "small_samples": small,
    }
    quality["notes"] = _notes(p, window, metrics, quality, weekly)
    return DoraReport(
        window=window,
        config=cfg,
        deployment_frequency=df,
        lead_time=lt,
        change_fail_rate=cfr,
        recovery_time=rec,
        rework_rate=rework,
        data_quality=quality,
        deployments=deps_win,
        lead_times=lead_table,
        recoveries=recoveries,
        weekly=weekly,
        source=p.source,
    )


def _notes(p: _Prepared, window: Window, metrics: dict, q: dict, weekly: pd.DataFrame) -> list[str]:
    """Human sentences for the data-quality section (each names its count)."""
    cfg = p.config
    notes = list(p.notes)
    if metrics["change_fail_rate"]["n"] == 0:
        notes.append(
            f"No {cfg.environment} deployment finished in the window: rates and durations are empty."
        )
    counted_notes = [
        (
            "negative_lead_times",
            "Changes deployed before their commit time (negative lead time), excluded from lead time",
        ),
        ("missing_commit_times", "Changes without a commit time, excluded from lead time"),
        (
            "first_deployment_changes_excluded",
            "Changes of a first deployment, excluded from lead time (they "
            "carry the whole prior history; --include-first-deployment keeps them)",
        ),
        (
            "changes_on_failed_deployments",
            "Changes naming a failed deployment attempt, not counted in lead time",
        ),
        (
            "unattributed_incidents",
            "Incidents opened in the window that matched no deployment (none named, "
            f"no successful deployment within {_gap_text(cfg.incident_max_gap)} before), not counted as failures",
        ),
        (
            "negative_recovery_times",
            "Failed deployments with a recovery before their finish (negative "
            "recovery time), excluded from recovery time",
        ),
        ("deployments_without_changes", "Counted deployments that shipped no known change"),
    ]
    for key, text in counted_notes:
        if q[key]:
            notes.append(f"{text}: {q[key]}.")
    unrec = metrics["recovery_time"]["unrecovered"]
    if unrec:
        notes.append(f"Failed deployments not recovered by the end of the data: {len(unrec)}.")
    if q["small_samples"]:
        names = ", ".join(name.replace("_", " ") for name in q["small_samples"])
        notes.append(f"Fewer than {SMALL_SAMPLE} observations for: {names}; read these with care.")
    first_partial = _week_start(window.since, cfg.tz) != window.since.tz_convert(cfg.tz).tz_localize(None)
    last_partial = _week_start(window.until, cfg.tz) != window.until.tz_convert(cfg.tz).tz_localize(None)
    if len(weekly) and (first_partial or last_partial):
        notes.append(
            f"The window does not start and end on Monday 00:00 ({cfg.tz}): partial edge weeks are included in "
            "the median deployment days per week."
        )
    return notes


def _gap_text(gap: pd.Timedelta) -> str:
    days = gap / pd.Timedelta(days=1)
    return f"{days:g} days" if days >= 1 else f"{gap / pd.Timedelta(hours=1):g} hours"


# --------------------------------------------------------------------------------------------- compare

_POLARITY = {
    "deployment_frequency": 1,
    "lead_time": -1,
    "change_fail_rate": -1,
    "recovery_time": -1,
    "rework_rate": -1,
}


def compare(current: DoraReport, previous: DoraReport) -> dict[str, Any]:
    """Per-metric comparison of ``current`` with ``previous`` (see docs/metrics.md, "Comparison").

    Each metric gets ``previous_value``, ``previous_n``, ``delta`` (current - previous), ``test``,
    ``p_value``, ``significant`` (``p < alpha`` with data on both sides) and ``direction``
    (``improved`` / ``regressed`` / ``unchanged``; DF higher is better, the others lower is better).
    """
    cfg = current.config
    out: dict[str, Any] = {"previous_window": previous.window.to_dict(previous.config.tz)}
    c_df, p_df = current.deployment_frequency, previous.deployment_frequency
    tests = {
        "deployment_frequency": stats.poisson_rate_test(
            c_df["deployments"], current.window.days, p_df["deployments"], previous.window.days
        ),
        "lead_time": stats.mann_whitney(
            current.lead_times["lead_time_hours"].to_numpy(),
            previous.lead_times["lead_time_hours"].to_numpy(),
        ),
        "change_fail_rate": stats.fisher(
            current.change_fail_rate["failed"],
            current.change_fail_rate["n"],
            previous.change_fail_rate["failed"],
            previous.change_fail_rate["n"],
        ),
        "recovery_time": stats.mann_whitney(_recovered(current), _recovered(previous)),
        "rework_rate": stats.fisher(
            current.rework_rate["unplanned"],
            current.rework_rate["n"],
            previous.rework_rate["unplanned"],
            previous.rework_rate["n"],
        ),
    }
    for name in METRICS:
        cur, prev = current.metric(name), previous.metric(name)
        res = tests[name]
        both = cur["n"] >= 1 and prev["n"] >= 1
        if name == "deployment_frequency":
            both = cur["n"] + prev["n"] >= 1  # a window with zero deployments is a valid observation
        delta = (
            cur["value"] - prev["value"] if cur["value"] is not None and prev["value"] is not None else None
        )
        significant = bool(both and res.p_value is not None and res.p_value < cfg.alpha)
        direction = "unchanged"
        if significant and res.shift != 0:
            large_enough = True
            if cfg.min_effect > 0 and delta is not None and prev["value"]:
                large_enough = abs(delta) / abs(prev["value"]) >= cfg.min_effect
            if large_enough:
                direction = "improved" if res.shift * _POLARITY[name] > 0 else "regressed"
        out[name] = {
            "previous_value": prev["value"],
            "previous_n": prev["n"],
            "delta": delta,
            "test": res.test,
            "p_value": res.p_value,
            "significant": significant,
            "direction": direction,
        }
    return out


def _recovered(report: DoraReport) -> np.ndarray:
    rec = report.recoveries
    ok = (rec["recovery_status"] == "recovered").fillna(False).to_numpy(dtype=bool)
    return rec["recovery_hours"].to_numpy()[ok]


# --------------------------------------------------------------------------------------------- JSON


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").tz_localize(None).isoformat() + "Z"


def round_float(x: float) -> float:
    """Round for output: 4 decimals when ``|x| >= 1``, else 4 significant digits. Only at output time."""
    if x == 0 or not math.isfinite(x):
        return x
    if abs(x) >= 1:
        return round(x, 4)
    return float(f"{x:.4g}")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return None if not math.isfinite(x) else round_float(x)
    if isinstance(obj, pd.Timestamp):
        return _iso(obj)
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    return obj if isinstance(obj, str) else str(obj)
