"""The five DORA metrics of one window, computed from a :class:`~hivepulse.metrics.prepare.Prepared` event set.

``compute(events, window, config)`` computes, for one environment and one window ``[since, until)`` on
``finished_at`` (UTC): deployment frequency, change lead time, change fail rate, failed deployment recovery
time and deployment rework rate, each with its n, a 95 % confidence interval and a tier, as a typed
:class:`~hivepulse.metrics.results.DoraReport`. ``iterations`` computes consecutive windows of one
preparation. Every rule is written out in ``docs/metrics.md``; no I/O. All work over changes is vectorized
(index look-ups, ``merge_asof``, ``bincount``), so a million changes take a few seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hivepulse import stats
from hivepulse.errors import InputError
from hivepulse.metrics import tiers
from hivepulse.metrics.compare import compare, recovered_hours
from hivepulse.metrics.config import MetricsConfig
from hivepulse.metrics.prepare import FAILURE_REASONS, HOUR, Prepared, naive, prepare
from hivepulse.metrics.results import (
    ChangeFailRate,
    DataQuality,
    DeploymentFrequency,
    DoraReport,
    LeadTime,
    Metrics,
    RecoveryTime,
    ReworkRate,
)
from hivepulse.metrics.window import Window, parse_instant
from hivepulse.model import EventSet
from hivepulse.vocabulary import SMALL_SAMPLE, UNIT

_RECOVERY_COLUMNS = [
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
]


def compute(
    events: EventSet, window: Window, config: MetricsConfig | None = None, *, compare_previous: bool = False
) -> DoraReport:
    """The DORA report of ``config.environment`` over ``window``.

    With ``compare_previous``, the window of the same length immediately before is computed too and
    ``report.comparison`` holds :func:`~hivepulse.metrics.compare.compare` of the two.
    """
    config = config or MetricsConfig()
    prepared = prepare(events, config)
    report = report_of(prepared, window)
    if compare_previous:
        report = report.with_comparison(compare(report, report_of(prepared, window.previous())))
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
    prepared = prepare(events, config)
    end = parse_instant(until, "until")
    step = pd.Timedelta(days=days)
    windows = [Window(end - (count - i) * step, end - (count - i - 1) * step) for i in range(count)]
    return [report_of(prepared, w) for w in windows]


def report_of(p: Prepared, window: Window) -> DoraReport:
    """The report of one window of a prepared event set."""
    cfg = p.config
    since = np.datetime64(window.since.tz_localize(None).as_unit("ns"))
    until = np.datetime64(window.until.tz_localize(None).as_unit("ns"))
    in_window = (p.finished >= since) & (p.finished < until)
    counted = in_window & p.success

    df, weekly = _deployment_frequency(p, window, counted)
    lt, lt_quality, lead_table = _lead_time(p, window, counted, in_window)
    cfr = _change_fail_rate(p, in_window)
    deps_win = p.deps.loc[in_window].copy()
    rec, recoveries = _recovery_time(p, deps_win)
    rework = _rework_rate(p, counted)

    # annotated deployments of the window
    changes_per = np.bincount(p.change_pos[p.change_pos >= 0], minlength=len(p.deps))
    deps_win.insert(deps_win.columns.get_loc("status") + 1, "counted", counted[in_window])
    deps_win["changes"] = changes_per[in_window]
    deps_win = deps_win.reset_index(drop=True)

    opened = p.unattributed_opened
    metrics = Metrics(df, lt, cfr, rec, rework)
    counts = {
        **lt_quality,
        "deployments_without_changes": int((counted & (changes_per == 0)).sum()),
        "unattributed_incidents": int(((opened >= since) & (opened < until)).sum()),
        "negative_recovery_times": int((recoveries["recovery_status"] == "negative").sum()),
    }
    small = tuple(name for name, metric in metrics if metric.n < SMALL_SAMPLE)
    notes = _notes(p, window, metrics, counts, small, weekly)
    quality = DataQuality(**counts, small_samples=small, notes=tuple(notes))
    return DoraReport(
        window=window,
        config=cfg,
        metrics=metrics,
        data_quality=quality,
        deployments=deps_win,
        lead_times=lead_table,
        recoveries=recoveries,
        weekly=weekly,
        source=p.source,
    )


# --------------------------------------------------------------------------------------------- metrics


def _ci(ci: tuple[float, float] | None) -> tuple[float | None, float | None]:
    return (ci[0], ci[1]) if ci is not None else (None, None)


def _deployment_frequency(p: Prepared, window: Window, counted: np.ndarray) -> tuple[DeploymentFrequency, pd.DataFrame]:
    cfg = p.config
    k = int(counted.sum())
    days = window.days
    local = pd.Series(p.finished[counted]).dt.tz_localize("UTC").dt.tz_convert(cfg.tz).dt.tz_localize(None)
    day = local.dt.floor("D")
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    first = week_start(window.since, cfg.tz)
    last = week_start(window.until - pd.Timedelta(1, "ns"), cfg.tz)
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
    metric = DeploymentFrequency(
        value=k * scale,
        n=k,
        ci_low=low * scale,
        ci_high=high * scale,
        tier=tiers.classify_frequency(k, days, cfg.tier_edition),
        unit=UNIT["deployment_frequency"],
        deployments=k,
        deployment_days=int(day.nunique()),
        per_day=k / days,
        weeks=len(weeks),
        median_deployment_days_per_week=float(np.median(weekly["deployment_days"])) if len(weeks) else None,
    )
    return metric, weekly


def week_start(ts: pd.Timestamp, tz: str) -> pd.Timestamp:
    """Local Monday 00:00 (naive local time) of the week holding ``ts``."""
    local = ts.tz_convert(tz).tz_localize(None).floor("D")
    return local - pd.Timedelta(days=local.day_of_week)


def _gather(values: np.ndarray, pos: np.ndarray, fill: Any) -> np.ndarray:
    """``values[pos]`` with ``fill`` where ``pos < 0`` (also when ``values`` is empty)."""
    if values.size == 0:
        return np.full(pos.shape, fill, dtype=values.dtype)
    return np.where(pos >= 0, values[np.where(pos >= 0, pos, 0)], fill)


def _lead_time(
    p: Prepared, window: Window, counted: np.ndarray, in_window: np.ndarray
) -> tuple[LeadTime, dict[str, int], pd.DataFrame]:
    cfg = p.config
    pos = p.change_pos
    deployed = pos >= 0
    first_flag = p.deps["first_deployment"].fillna(False).to_numpy(dtype=bool)
    on_counted = deployed & _gather(counted, pos, False)
    on_failed_attempt = deployed & _gather(in_window & ~p.success, pos, False)
    first_excl = on_counted & _gather(first_flag, pos, False) & (not cfg.include_first_deployment)
    candidate = on_counted & ~first_excl
    hours = (_gather(p.finished, pos, np.datetime64("NaT")) - p.committed) / HOUR
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
        out = (end - start) / HOUR
        return np.where(out >= 0, out, np.nan)

    pr_opened = naive(ch["pr_opened_at"])
    first_review = naive(ch["first_review_at"])
    merged = naive(ch["merged_at"])
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
    value = stats.median(lead)
    low, high = _ci(stats.median_ci(lead, n_boot=cfg.n_boot, alpha=cfg.alpha, seed=cfg.seed))
    metric = LeadTime(
        value=value,
        n=int(lead.size),
        ci_low=low,
        ci_high=high,
        tier=tiers.classify("lead_time", value, cfg.tier_edition),
        unit=UNIT["lead_time"],
        p75=stats.percentile(lead, 75),
        p90=stats.percentile(lead, 90),
    )
    quality = {
        "negative_lead_times": int(negative.sum()),
        "missing_commit_times": int(missing.sum()),
        "first_deployment_changes_excluded": int(first_excl.sum()),
        "undeployed_changes": int(undeployed.sum()),
        "changes_on_failed_deployments": int(on_failed_attempt.sum()),
    }
    return metric, quality, table


def _rate(k: int, n: int, alpha: float) -> tuple[float | None, float | None, float | None]:
    low, high = _ci(stats.wilson(k, n, alpha=alpha))
    return (k / n if n else None), low, high


def _change_fail_rate(p: Prepared, in_window: np.ndarray) -> ChangeFailRate:
    cfg = p.config
    denom = int(in_window.sum())
    k_failed = int((p.failed & in_window).sum())
    value, low, high = _rate(k_failed, denom, cfg.alpha)
    return ChangeFailRate(
        value=value,
        n=denom,
        ci_low=low,
        ci_high=high,
        tier=tiers.classify("change_fail_rate", value, cfg.tier_edition),
        unit=UNIT["change_fail_rate"],
        failed=k_failed,
        deployments=denom,
        by_reason={name: int((p.reasons[name] & in_window).sum()) for name in FAILURE_REASONS},
    )


def _recovery_time(p: Prepared, deps_win: pd.DataFrame) -> tuple[RecoveryTime, pd.DataFrame]:
    cfg = p.config
    recoveries = deps_win.loc[deps_win["failed"], _RECOVERY_COLUMNS].reset_index(drop=True)
    rec_hours = recovered_hours(recoveries)
    value = stats.median(rec_hours)
    low, high = _ci(stats.median_ci(rec_hours, n_boot=cfg.n_boot, alpha=cfg.alpha, seed=cfg.seed))
    unrecovered = recoveries.loc[recoveries["recovery_status"] == "unrecovered", "deployment_id"]
    metric = RecoveryTime(
        value=value,
        n=int(rec_hours.size),
        ci_low=low,
        ci_high=high,
        tier=tiers.classify("recovery_time", value, cfg.tier_edition),
        unit=UNIT["recovery_time"],
        failed=len(recoveries),
        unrecovered=tuple(str(x) for x in unrecovered),
    )
    return metric, recoveries


def _rework_rate(p: Prepared, counted: np.ndarray) -> ReworkRate:
    cfg = p.config
    k_counted = int(counted.sum())
    kind = p.deps["kind"].fillna("planned").astype(object).to_numpy()
    k_unplanned = int((counted & (kind == "unplanned")).sum())
    value, low, high = _rate(k_unplanned, k_counted, cfg.alpha)
    return ReworkRate(value=value, n=k_counted, ci_low=low, ci_high=high, tier=None, unit=UNIT["rework_rate"],
                      unplanned=k_unplanned, deployments=k_counted)


# --------------------------------------------------------------------------------------------- notes

_COUNTED_NOTES = (
    ("negative_lead_times", "Changes deployed before their commit time (negative lead time), excluded from lead time"),
    ("missing_commit_times", "Changes without a commit time, excluded from lead time"),
    (
        "first_deployment_changes_excluded",
        "Changes of a first deployment, excluded from lead time (they "
        "carry the whole prior history; --include-first-deployment keeps them)",
    ),
    ("changes_on_failed_deployments", "Changes naming a failed deployment attempt, not counted in lead time"),
    (
        "unattributed_incidents",
        "Incidents opened in the window that matched no deployment (none named, "
        "no successful deployment within {gap} before), not counted as failures",
    ),
    (
        "negative_recovery_times",
        "Failed deployments with a recovery before their finish (negative recovery time), excluded from recovery time",
    ),
    ("deployments_without_changes", "Counted deployments that shipped no known change"),
)


def _notes(p: Prepared, window: Window, metrics: Metrics, counts: dict[str, int], small: tuple[str, ...],
           weekly: pd.DataFrame) -> list[str]:
    """Human sentences for the data-quality section (each names its count)."""
    cfg = p.config
    notes = list(p.notes)
    if metrics.change_fail_rate.n == 0:
        notes.append(
            f"No {cfg.environment} deployment finished in the window: rates and durations are empty."
        )
    for key, text in _COUNTED_NOTES:
        if counts[key]:
            notes.append(f"{text.format(gap=_gap_text(cfg.incident_max_gap))}: {counts[key]}.")
    unrec = metrics.recovery_time.unrecovered
    if unrec:
        notes.append(f"Failed deployments not recovered by the end of the data: {len(unrec)}.")
    if small:
        names = ", ".join(name.replace("_", " ") for name in small)
        notes.append(f"Fewer than {SMALL_SAMPLE} observations for: {names}; read these with care.")
    first_partial = week_start(window.since, cfg.tz) != window.since.tz_convert(cfg.tz).tz_localize(None)
    last_partial = week_start(window.until, cfg.tz) != window.until.tz_convert(cfg.tz).tz_localize(None)
    if len(weekly) and (first_partial or last_partial):
        notes.append(
            f"The window does not start and end on Monday 00:00 ({cfg.tz}): partial edge weeks are included in "
            "the median deployment days per week."
        )
    return notes


def _gap_text(gap: pd.Timedelta) -> str:
    days = gap / pd.Timedelta(days=1)
    return f"{days:g} days" if days >= 1 else f"{gap / pd.Timedelta(hours=1):g} hours"

__all__ = ["compute", "iterations", "report_of", "week_start"]
