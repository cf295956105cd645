"""From an iteration's figures to *signals*: the facts an action item can answer.

Input is the metrics dict of the JSON contract (``DoraReport.to_dict()``, see ``docs/cli.md``) plus, when
available, the per-change lead-time table, the deployments table and the recoveries table of the same
iteration. Output is a list of :class:`Signal`, each carrying its RICE terms (reach, impact, confidence) and a
one-line evidence in numbers. The exact rules are in ``docs/action-items.md``; the constants below are the
thresholds it quotes.

Signal kinds:

- ``below_tier``: a tiered metric is not elite (``tier`` in high / medium / low);
- ``regression``: the comparison with the previous iteration is significant and the metric got worse;
- ``dominant_stage``: one lead-time stage (coding, pickup, review, deploy) holds >= ``DOMINANT_SHARE`` of
  the stage time of pull-request changes and is the largest stage;
- ``big_batches``: the median number of changes per successful deployment is >= ``BATCH_CHANGES``;
- ``unrecovered_failures``: failed deployments in the iteration with no recovery;
- ``missing_data``: a metric with no observations (``n == 0`` or no value);
- ``finding``: a profiling finding of kind ``problem`` (:mod:`hivepulse.bench.findings`; good news and
  context are evidence only), with RICE terms from the profile data (:func:`finding_signal`).

This module also computes *measurements* (:func:`measurements`): the named values a follow-up can compare
against an action item's target next iteration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from hivepulse.vocabulary import HIGHER_IS_BETTER, direction

METRICS: tuple[str, ...] = (
    "deployment_frequency",
    "lead_time",
    "change_fail_rate",
    "recovery_time",
    "rework_rate",
)
"""The five DORA metrics, in display order."""

SIGNAL_KINDS: tuple[str, ...] = (
    "below_tier",
    "regression",
    "dominant_stage",
    "big_batches",
    "unrecovered_failures",
    "missing_data",
    "finding",
)

# Directions live in one place (hivepulse.vocabulary); HIGHER_IS_BETTER is re-exported from there.

FINDING_KINDS: tuple[str, ...] = ("problem", "good", "info")
"""Kinds of a profiling finding: only ``problem`` findings become ``finding`` signals (hivepulse.bench.findings)."""
FINDING_CONFIDENCE_CAP = 0.8
"""A profiling run measures a lab set-up (replay server, synthetic load), not production traffic: the RICE
confidence of a finding is at most this."""
UNSIGNIFICANT_FACTOR = 0.5
"""A finding that rests on a comparison which was not significant has its confidence multiplied by this."""
GAP_IMPACT: tuple[tuple[float, float], ...] = ((1.0, 3.0), (0.5, 2.0), (0.2, 1.0), (0.1, 0.5))
"""RICE impact of a finding from its relative gap to the threshold (first row whose gap it reaches; below
the last row 0.25): twice the threshold or worse -> 3, 50% -> 2, 20% -> 1, 10% -> 0.5."""

STAGES: tuple[str, ...] = ("coding", "pickup", "review", "deploy")
"""Lead-time stages of a pull-request change (columns ``<stage>_hours`` of ``DoraReport.lead_times``)."""

TIER_ORDER: tuple[str, ...] = ("elite", "high", "medium", "low")
TIER_IMPACT: dict[str, float] = {"low": 3.0, "medium": 2.0, "high": 1.0, "elite": 0.5}
"""RICE impact by the tier of the metric concerned (3 massive, 2 high, 1 medium, 0.5 low)."""

DOMINANT_SHARE = 0.40
"""A stage is dominant when it holds at least this share of the summed stage hours (and is the largest)."""
BATCH_CHANGES = 10
"""Median changes per successful deployment at or above which batches count as large."""
LEAD_TIME_COLUMNS = ("lead_time_hours", "hours", "lead_time")
"""Accepted names of the per-change lead-time column (hours), first found wins."""


@dataclass(frozen=True)
class Signal:
    """One fact an action can answer, with its RICE terms.

    ``reach`` is a fraction in [0, 1] (share of changes or deployments affected), ``impact`` is on the RICE
    scale 0.25-3, ``confidence`` a fraction in [0, 1]. ``evidence`` is one line of numbers.
    """

    kind: str
    metric: str
    evidence: str
    reach: float
    impact: float
    confidence: float
    stage: str | None = None
    value: float | None = None
    n: int | None = None
    tier: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- contract


def metric_block(metrics: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The block of one metric (``value``, ``n``, ``ci_low``, ``ci_high``, ``tier``, ``unit``), or ``{}``.

    Accepts the metrics either at the top level of the dict or under a ``"metrics"`` key.
    """
    holder = metrics.get("metrics") if isinstance(metrics.get("metrics"), Mapping) else metrics
    block = holder.get(name) if isinstance(holder, Mapping) else None
    return dict(block) if isinstance(block, Mapping) else {}


def comparison_block(metrics: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The comparison of one metric with the previous iteration (``p_value``, ``significant``,
    ``direction``), or ``{}`` when there is none."""
    comp = metrics.get("comparison")
    if not isinstance(comp, Mapping):
        return {}
    if isinstance(comp.get("metrics"), Mapping):
        comp = comp["metrics"]
    block = comp.get(name)
    return dict(block) if isinstance(block, Mapping) else {}


def number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (for None, NaN, inf, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def count(value: Any) -> int:
    """``value`` as a non-negative int (0 when missing)."""
    num = number(value)
    return int(num) if num is not None and num > 0 else 0


def is_significant(comp: Mapping[str, Any]) -> bool:
    return bool(comp.get("significant")) and comp.get("direction") in ("improved", "regressed")


def confidence_from_n(n: int) -> float:
    """RICE confidence from a sample size: >= 30 -> 1.0, >= 10 -> 0.8, >= 3 -> 0.5, else 0.3."""
    if n >= 30:
        return 1.0
    if n >= 10:
        return 0.8
    if n >= 3:
        return 0.5
    return 0.3


# ---------------------------------------------------------------------------------------------- formatting

UNIT_LABEL = {
    "deployment_frequency": "/week",
    "lead_time": "h",
    "recovery_time": "h",
    "change_fail_rate": "%",
    "rework_rate": "%",
}
METRIC_LABEL = {
    "deployment_frequency": "deployment frequency",
    "lead_time": "lead time median",
    "change_fail_rate": "change fail rate",
    "recovery_time": "recovery time median",
    "rework_rate": "rework rate",
}


_RATIO_METRICS = ("speedup_p50", "naive_client_overhead", "baseline_ratio")


def fmt_value(metric: str, value: float | None) -> str:
    """A metric value with its unit: hours ``52 h``, rates ``12%``, frequency ``4.50/week``; profiling:
    latencies ``340 ms``, ratios ``1.30x``, hit ratio ``0.42``, shares ``97.0%``."""
    if value is None:
        return "n/a"
    if metric.endswith("_ms"):
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 10 else f"{value:.2g} ms"
    if metric in _RATIO_METRICS:
        return f"{value:.0f}x" if value >= 10 else f"{value:.2f}x"
    if metric == "hit_ratio":
        return f"{value:.2f}"
    if metric == "upstream_calls_saved":
        return f"{100 * value:.1f}%"
    if metric in ("change_fail_rate", "rework_rate") or metric.endswith("_share"):
        return f"{100 * value:.1f}%"
    if metric == "deployment_frequency":
        return f"{value:.2f}/week" if value < 10 else f"{value:.1f}/week"
    if metric in ("lead_time", "recovery_time") or metric.endswith("_hours_median"):
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_ci(metric: str, block: Mapping[str, Any]) -> str:
    """``CI 38-70 h`` (the unit once), or ``CI n/a``."""
    low, high = number(block.get("ci_low")), number(block.get("ci_high"))
    if low is None or high is None:
        return "CI n/a"
    lo, hi = fmt_value(metric, low), fmt_value(metric, high)
    for unit in (" h", "%", "/week"):
        if lo.endswith(unit) and hi.endswith(unit):
            return f"CI {lo[: -len(unit)]}-{hi}"
    return f"CI {lo}-{hi}"


def evidence_line(metric: str, block: Mapping[str, Any]) -> str:
    """``lead time median 52 h (n=41, CI 38-70 h, tier high)``."""
    value = number(block.get("value"))
    tier = block.get("tier")
    tier_txt = f", tier {tier}" if tier else ""
    return (
        f"{METRIC_LABEL.get(metric, metric)} {fmt_value(metric, value)} "
        f"(n={count(block.get('n'))}, {fmt_ci(metric, block)}{tier_txt})"
    )


# ---------------------------------------------------------------------------------------------- tables


def lead_time_column(lead_times: pd.DataFrame | None) -> str | None:
    if lead_times is None:
        return None
    for name in LEAD_TIME_COLUMNS:
        if name in lead_times.columns:
            return name
    return None


def stage_table(lead_times: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of changes that have all four stage durations (hours), columns ``coding``..``deploy``."""
    if lead_times is None or lead_times.empty:
        return pd.DataFrame(columns=list(STAGES), dtype=float)
    cols = [f"{s}_hours" for s in STAGES]
    if not all(c in lead_times.columns for c in cols):
        return pd.DataFrame(columns=list(STAGES), dtype=float)
    frame = lead_times[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    frame.columns = list(STAGES)
    return frame.dropna().clip(lower=0.0).reset_index(drop=True)


def stage_summary(lead_times: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """Per stage: ``median_hours``, ``share`` (stage hours / all stage hours, summed over PR changes) and
    ``largest_share`` (fraction of PR changes where this stage is the longest). Empty without PR data."""
    table = stage_table(lead_times)
    if table.empty:
        return {}
    total = float(table.to_numpy().sum())
    largest = table.idxmax(axis=1)
    out: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        col = table[stage]
        out[stage] = {
            "median_hours": float(col.median()),
            "share": float(col.sum() / total) if total > 0 else 0.0,
            "largest_share": float((largest == stage).mean()),
            "n": float(len(col)),
        }
    return out


def batch_sizes(lead_times: pd.DataFrame | None, deployments: pd.DataFrame | None = None) -> pd.Series:
    """Changes per counted deployment.

    From the deployments table (its ``changes`` column, counted deployments only) when given, else from the
    lead-time table (changes grouped by ``deployment_id``; deployments without counted changes are missing).
    """
    if deployments is not None and "changes" in deployments.columns:
        frame = deployments
        if "counted" in frame.columns:
            frame = frame[frame["counted"].fillna(False).astype(bool)]
        return pd.to_numeric(frame["changes"], errors="coerce").dropna().astype(float).reset_index(drop=True)
    if lead_times is None or lead_times.empty or "deployment_id" not in lead_times.columns:
        return pd.Series([], dtype=float)
    return lead_times.groupby("deployment_id").size().astype(float)


def failed_unrecovered(recoveries: pd.DataFrame | None) -> tuple[int, int]:
    """``(failed, unrecovered)``: failed deployments in the recoveries table and those with no recovery."""
    if recoveries is None or recoveries.empty:
        return 0, 0
    if "recovery_status" in recoveries.columns:
        status = recoveries["recovery_status"].astype(object)
        return len(recoveries), int((status == "unrecovered").sum())
    if "recovered_at" in recoveries.columns:
        unrec = int(recoveries["recovered_at"].isna().sum())
    elif "recovery_hours" in recoveries.columns:
        unrec = int(pd.to_numeric(recoveries["recovery_hours"], errors="coerce").isna().sum())
    else:
        unrec = 0
    return len(recoveries), unrec


def measurements(
    metrics: Mapping[str, Any],
    lead_times: pd.DataFrame | None = None,
    deployments: pd.DataFrame | None = None,
    recoveries: pd.DataFrame | None = None,
) -> dict[str, dict[str, float | int | None]]:
    """Named values of one iteration that action targets can watch: ``{name: {"value", "n"}}``.

    Names: the five metrics; ``<stage>_hours_median`` and ``<stage>_share`` for the four stages;
    ``changes_per_deployment`` (median); ``unrecovered_failures`` (count, n = failed deployments).
    A missing value is ``None`` (the follow-up then says *not measurable*).
    """
    out: dict[str, dict[str, float | int | None]] = {}
    for name in METRICS:
        block = metric_block(metrics, name)
        out[name] = {"value": number(block.get("value")), "n": count(block.get("n"))}
    summary = stage_summary(lead_times)
    for stage in STAGES:
        info = summary.get(stage)
        n = int(info["n"]) if info else 0
        out[f"{stage}_hours_median"] = {"value": info["median_hours"] if info else None, "n": n}
        out[f"{stage}_share"] = {"value": info["share"] if info else None, "n": n}
    sizes = batch_sizes(lead_times, deployments)
    out["changes_per_deployment"] = {
        "value": float(sizes.median()) if len(sizes) else None,
        "n": len(sizes),
    }
    failed, unrec = failed_unrecovered(recoveries)
    out["unrecovered_failures"] = {"value": float(unrec) if recoveries is not None else None, "n": failed}
    return out


# ---------------------------------------------------------------------------------------------- tiers


def next_tier_cutoff(metric: str, tier: str | None, edition: str = "2024") -> tuple[str, float] | None:
    """``(next_tier, cutoff)`` to reach from ``tier`` for ``metric``, in the metric's unit (hours, fraction,
    deployments per week); ``None`` when elite, untiered or unknown."""
    if tier not in TIER_ORDER or tier == "elite":
        return None
    from hivepulse.metrics import tiers as _tiers

    try:
        cut = _tiers.edition(edition)["cutoffs"].get(metric)
    except Exception:  # unknown edition: no cut-off
        return None
    if not cut:
        return None
    nxt = TIER_ORDER[TIER_ORDER.index(tier) - 1]
    if metric == "deployment_frequency":
        return nxt, 7.0 / float(cut["per_days"][nxt])
    return nxt, float(cut[nxt])


def worse_than(metric: str, value: float, cutoff: float) -> bool:
    """True when ``value`` misses ``cutoff`` (for lower-is-better metrics: ``value >= cutoff``)."""
    return value < cutoff if metric in HIGHER_IS_BETTER else value >= cutoff


def reach_for(
    metric: str,
    block: Mapping[str, Any],
    lead_times: pd.DataFrame | None,
    recoveries: pd.DataFrame | None,
    edition: str,
) -> tuple[float, str]:
    """Reach of a metric-level signal and how it was computed (see docs/action-items.md)."""
    value = number(block.get("value"))
    nxt = next_tier_cutoff(metric, block.get("tier"), edition)
    if metric == "lead_time":
        col = lead_time_column(lead_times)
        if col and nxt is not None and lead_times is not None and len(lead_times):
            hours = pd.to_numeric(lead_times[col], errors="coerce").dropna()
            if len(hours):
                share = float((hours >= nxt[1]).mean())
                return share, f"{share:.0%} of changes take >= {nxt[1]:g} h"
        return 1.0, "every change"
    if metric == "recovery_time":
        if recoveries is not None and len(recoveries) and "recovery_hours" in recoveries.columns:
            hours = pd.to_numeric(recoveries["recovery_hours"], errors="coerce")
            if nxt is not None:
                share = float(((hours >= nxt[1]) | hours.isna()).mean())
                return share, f"{share:.0%} of failed deployments take >= {nxt[1]:g} h to recover"
        return 1.0, "every failed deployment"
    if metric in ("change_fail_rate", "rework_rate") and value is not None:
        return min(max(value, 0.0), 1.0), f"{value:.0%} of deployments"
    return 1.0, "every change waits for a deployment" if metric == "deployment_frequency" else "all"


# ---------------------------------------------------------------------------------------------- detection


def _expected(
    metrics: Mapping[str, Any],
    metric: str,
    deployments: pd.DataFrame | None = None,
    deployments_in_source: bool = True,
) -> bool:
    """Whether a metric without observations is missing data (True) or simply not applicable (False).

    - Deployment frequency: zero deployments in the iteration is a measured value (0/week), not missing;
      it is missing only when the source has no deployment of the environment at all
      (``deployments_in_source`` False): then nobody records deployments.
    - Lead time: missing only when the iteration has counted deployments that are not rollbacks, none of
      their changes is known, and no exclusion explains it (changes of a first deployment, negative spans:
      the data-quality section reports those). No deployment at all is the deployment-frequency signal.
    - Change fail rate and rework rate are ratios of deployments: their absence is the deployment signal.
    - Recovery time is expected only when the iteration had failed deployments.
    """
    if metric == "deployment_frequency":
        return not deployments_in_source
    if metric == "lead_time":
        if count(metric_block(metrics, "deployment_frequency").get("n")) == 0:
            return False
        quality = metrics.get("data_quality") if isinstance(metrics.get("data_quality"), Mapping) else {}
        excluded = count(quality.get("first_deployment_changes_excluded")) + count(quality.get("negative_lead_times"))
        if excluded > 0:
            return False
        if deployments is not None and len(deployments) and "rollback_of" in deployments.columns:
            frame = deployments
            if "counted" in frame.columns:
                frame = frame[frame["counted"].fillna(False).astype(bool)]
            if len(frame) and frame["rollback_of"].notna().all():
                return False  # only rollbacks: they redeploy earlier changes and ship none
        return True
    if metric == "recovery_time":
        cfr = metric_block(metrics, "change_fail_rate")
        value, n = number(cfr.get("value")), count(cfr.get("n"))
        return value is not None and value * n >= 0.5
    return False


def _missing(metric: str, value: float | None, n: int, deployments_in_source: bool) -> bool:
    """No observation: no value, or n = 0 (for deployment frequency: no deployment of the environment in
    the whole source; zero deployments in an iteration is a value)."""
    if metric == "deployment_frequency":
        return value is None or (n == 0 and not deployments_in_source)
    return value is None or n == 0


def _missing_evidence(metrics: Mapping[str, Any], metric: str, n: int) -> str:
    if metric == "deployment_frequency":
        return "deployment frequency: no deployment of this environment anywhere in the source data (n=0)"
    if metric == "lead_time":
        deps = count(metric_block(metrics, "deployment_frequency").get("n"))
        return (f"lead time median: {deps} deployment(s) in this iteration but no change linked to them "
                f"(n={n} changes)")
    return f"{METRIC_LABEL.get(metric, metric)}: no observations in this iteration (n={n})"


def detect(
    metrics: Mapping[str, Any],
    *,
    lead_times: pd.DataFrame | None = None,
    deployments: pd.DataFrame | None = None,
    recoveries: pd.DataFrame | None = None,
    findings: list[Mapping[str, Any]] | None = None,
    tier_edition: str = "2024",
    deployments_in_source: bool = True,
) -> list[Signal]:
    """All signals of one iteration, in a stable order (by kind, then metric).

    ``deployments_in_source``: whether the source holds any deployment of the environment (in any window).
    When it does, zero deployments in this iteration is a measured deployment frequency (tier low, maybe a
    significant regression), not missing data.
    """
    out: list[Signal] = []
    for metric in METRICS:
        block = metric_block(metrics, metric)
        value = number(block.get("value"))
        n = count(block.get("n"))
        tier = block.get("tier")
        if _missing(metric, value, n, deployments_in_source):
            if not _expected(metrics, metric, deployments, deployments_in_source):
                continue
            out.append(
                Signal(
                    kind="missing_data",
                    metric=metric,
                    evidence=_missing_evidence(metrics, metric, n),
                    reach=1.0,
                    impact=1.0,
                    confidence=1.0,
                    value=value,
                    n=n,
                    tier=tier,
                )
            )
            continue
        comp = comparison_block(metrics, metric)
        if tier in ("high", "medium", "low"):
            reach, how = reach_for(metric, block, lead_times, recoveries, tier_edition)
            nxt = next_tier_cutoff(metric, tier, tier_edition)
            gap = f"; next tier {nxt[0]} needs {fmt_value(metric, nxt[1])}" if nxt else ""
            out.append(
                Signal(
                    kind="below_tier",
                    metric=metric,
                    evidence=f"{evidence_line(metric, block)}{gap}; reach: {how}",
                    reach=reach,
                    impact=TIER_IMPACT[tier],
                    confidence=confidence_from_n(n),
                    value=value,
                    n=n,
                    tier=tier,
                    details={"next_tier": nxt[0] if nxt else None, "cutoff": nxt[1] if nxt else None},
                )
            )
        if is_significant(comp) and comp.get("direction") == "regressed":
            reach, how = reach_for(metric, block, lead_times, recoveries, tier_edition)
            prev = number(comp.get("previous_value", comp.get("previous")))
            prev_n = comp.get("previous_n")
            prev_txt = f"{fmt_value(metric, prev)}" if prev is not None else ""
            if prev_txt and prev_n is not None:
                prev_txt += f", n={count(prev_n)}"
            p = number(comp.get("p_value"))
            out.append(
                Signal(
                    kind="regression",
                    metric=metric,
                    evidence=(
                        f"{evidence_line(metric, block)}, worse than the previous iteration"
                        f" ({'; '.join(x for x in (prev_txt, f'p={p:.3f}' if p is not None else '') if x)})"
                    ),
                    reach=reach if metric != "deployment_frequency" else 1.0,
                    impact=min(3.0, max(TIER_IMPACT.get(str(tier), 1.0), 1.0) + 1.0),
                    confidence=1.0,
                    value=value,
                    n=n,
                    tier=tier,
                    details={"previous_value": prev, "p_value": p},
                )
            )

    lt_block = metric_block(metrics, "lead_time")
    lt_tier = lt_block.get("tier")
    lt_impact = TIER_IMPACT.get(str(lt_tier), 1.0)
    summary = stage_summary(lead_times)
    if summary:
        stage = max(STAGES, key=lambda s: summary[s]["share"])
        info = summary[stage]
        n_pr = int(info["n"])
        if info["share"] >= DOMINANT_SHARE:
            out.append(
                Signal(
                    kind="dominant_stage",
                    metric="lead_time",
                    stage=stage,
                    evidence=(
                        f"{evidence_line('lead_time', lt_block)}, {stage} is {info['share']:.0%} of it "
                        f"(median {stage} {fmt_value('lead_time', info['median_hours'])} over {n_pr} pull "
                        f"requests; the longest stage for {info['largest_share']:.0%} of them)"
                    ),
                    reach=info["largest_share"],
                    impact=lt_impact,
                    confidence=confidence_from_n(n_pr),
                    value=info["share"],
                    n=n_pr,
                    tier=lt_tier,
                    details={s: summary[s] for s in STAGES},
                )
            )

    sizes = batch_sizes(lead_times, deployments)
    if len(sizes) and float(sizes.median()) >= BATCH_CHANGES:
        med = float(sizes.median())
        big = sizes[sizes >= BATCH_CHANGES]
        reach = float(big.sum() / sizes.sum())
        out.append(
            Signal(
                kind="big_batches",
                metric="lead_time",
                evidence=(
                    f"median {med:.0f} changes per deployment (n={len(sizes)} deployments); "
                    f"{reach:.0%} of changes shipped in deployments of >= {BATCH_CHANGES} changes"
                ),
                reach=reach,
                impact=lt_impact,
                confidence=confidence_from_n(len(sizes)),
                value=med,
                n=len(sizes),
                tier=lt_tier,
            )
        )

    failed, unrec = failed_unrecovered(recoveries)
    if unrec > 0:
        out.append(
            Signal(
                kind="unrecovered_failures",
                metric="recovery_time",
                evidence=f"{unrec} of {failed} failed deployments have no recovery in the data",
                reach=unrec / failed if failed else 1.0,
                impact=2.0,
                confidence=1.0,
                value=float(unrec),
                n=failed,
            )
        )

    for finding in findings or []:
        signal = finding_signal(finding)
        if signal is not None:
            out.append(signal)
    return out


# ---------------------------------------------------------------------------------------------- findings


def finding_key(metric: str, scenario: str | None) -> str:
    """The measurement name of a profiling finding: ``hit_ratio@memory-naive`` (``metric`` alone for a
    run-level finding)."""
    return f"{metric}@{scenario}" if scenario else metric


def gap(value: float, threshold: float, better: str | None) -> float | None:
    """Relative gap of ``value`` beyond ``threshold`` in the bad direction (0 when on the good side):
    lower-is-better ``(value - threshold) / |threshold|``, higher-is-better ``(threshold - value) /
    |threshold|``; a threshold of 0 makes any excess infinite. ``None`` when the direction is unknown."""
    if better not in ("higher", "lower"):
        return None
    excess = value - threshold if better == "lower" else threshold - value
    if excess <= 0:
        return 0.0
    return math.inf if threshold == 0 else excess / abs(threshold)


def gap_impact(relative_gap: float | None) -> float:
    """RICE impact (0.25-3) from a finding's relative gap to its threshold (:data:`GAP_IMPACT`); 1 when
    there is no threshold to measure a gap against."""
    if relative_gap is None:
        return 1.0
    for at_least, impact in GAP_IMPACT:
        if relative_gap >= at_least:
            return impact
    return 0.25


def finding_confidence(n: int, significant: bool | None) -> float:
    """RICE confidence of a finding: :func:`confidence_from_n` of its n, times :data:`UNSIGNIFICANT_FACTOR`
    when its comparison was not significant, capped at :data:`FINDING_CONFIDENCE_CAP`."""
    conf = confidence_from_n(n) * (UNSIGNIFICANT_FACTOR if significant is False else 1.0)
    return min(conf, FINDING_CONFIDENCE_CAP)


def finding_signal(finding: Mapping[str, Any]) -> Signal | None:
    """The ``finding`` signal of a profiling finding, or ``None`` when it is not a problem.

    Only ``kind: problem`` findings with a metric and a numeric value become signals (good news and info
    are evidence only). RICE terms (docs/action-items.md): reach = the finding's ``reach`` (share of
    requests affected; 1.0 when absent), impact = :func:`gap_impact` of the gap between ``value`` and
    ``threshold`` in the metric's direction, confidence = :func:`finding_confidence` of ``n`` and
    ``significant``.
    """
    metric = str(finding.get("metric") or "").strip()
    value = number(finding.get("value"))
    if not metric or finding.get("kind") != "problem" or value is None:
        return None
    better = direction(metric, finding.get("better"))
    threshold = number(finding.get("threshold"))
    scenario = finding.get("scenario") or None
    n = count(finding.get("n"))
    significant = finding.get("significant")
    significant = significant if isinstance(significant, bool) else None
    reach = number(finding.get("reach"))
    reach = 1.0 if reach is None else min(max(reach, 0.0), 1.0)
    text = str(finding.get("text") or f"{metric} {fmt_value(metric, value)} (n={n})")
    how = finding.get("reach_text")
    return Signal(
        kind="finding",
        metric=metric,
        evidence=f"{text}; reach: {how}" if how else text,
        reach=reach,
        impact=gap_impact(gap(value, threshold, better) if threshold is not None else None),
        confidence=finding_confidence(n, significant),
        value=value,
        n=n,
        details={"scenario": scenario, "threshold": threshold, "better": better, "significant": significant,
                 "measurement": finding_key(metric, scenario)},
    )


# ---------------------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """A statement for *What went well* / *What to improve*, with the numbers that back it."""

    kind: str  # improved | regressed | elite | streak | below_tier
    metric: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


STREAK_MIN = 3
"""Consecutive iterations (current included) at high or elite that make a streak worth saying."""
SMALL_SAMPLE = 5
"""Claims on a metric with fewer observations than this are flagged: the engine's threshold for
``data_quality.small_samples`` (:data:`hivepulse.metrics.dora.SMALL_SAMPLE`; a test keeps them equal; not
imported, so ``hivepulse retro`` can check its input without loading the engine)."""
SMALL_FLAG = "small sample, read with care"


def _small(block: Mapping[str, Any]) -> str:
    """`` (small sample, read with care)`` when the metric has fewer than ``SMALL_SAMPLE`` observations."""
    return f" ({SMALL_FLAG})" if count(block.get("n")) < SMALL_SAMPLE else ""


def claims(
    metrics: Mapping[str, Any], history: list[Mapping[str, Any]] | None = None
) -> dict[str, list[Claim]]:
    """``{"went_well": [...], "to_improve": [...]}``.

    Only significant changes are claimed as improvements or regressions. *Went well* also lists metrics at
    elite and streaks (``STREAK_MIN`` or more consecutive iterations, ending with this one, at high or elite;
    ``history`` is the earlier iterations' metrics dicts, oldest first; an entry with ``"covered": False``
    lies before the data and ends a streak). *To improve* also lists metrics below high (tier medium or
    low) as facts, without claiming a change. Elite, below-high and streak statements on fewer than
    ``SMALL_SAMPLE`` observations (in any iteration of the streak) end with ``(small sample, read with
    care)``; significance tests already account for n.
    """
    went: list[Claim] = []
    worse: list[Claim] = []
    for metric in METRICS:
        block = metric_block(metrics, metric)
        comp = comparison_block(metrics, metric)
        label = METRIC_LABEL.get(metric, metric)
        if is_significant(comp):
            p = number(comp.get("p_value"))
            p_txt = f", p={p:.3f}" if p is not None else ""
            prev = number(comp.get("previous_value", comp.get("previous")))
            prev_n = comp.get("previous_n")
            prev_txt = f" from {fmt_value(metric, prev)}" if prev is not None else ""
            if prev is not None and prev_n is not None:
                prev_txt += f" (n={count(prev_n)})"
            text = f"{label}{prev_txt} to {evidence_line(metric, block).removeprefix(label + ' ')}{p_txt}"
            if comp["direction"] == "improved":
                went.append(Claim("improved", metric, f"Improved: {text}"))
            else:
                worse.append(Claim("regressed", metric, f"Regressed: {text}"))
        tier = block.get("tier")
        if tier == "elite" and count(block.get("n")) > 0:
            went.append(Claim("elite", metric, f"Elite: {evidence_line(metric, block)}{_small(block)}"))
        elif tier in ("medium", "low"):
            worse.append(Claim("below_tier", metric, f"Below high: {evidence_line(metric, block)}{_small(block)}"))
        if history and tier in ("elite", "high"):
            streak, small = 1, bool(_small(block))
            for past in reversed(history):
                if past.get("covered") is False:
                    break
                past_block = metric_block(past, metric)
                if past_block.get("tier") in ("elite", "high"):
                    streak += 1
                    small = small or bool(_small(past_block))
                else:
                    break
            if streak >= STREAK_MIN:
                flag = f" ({SMALL_FLAG})" if small else ""
                went.append(
                    Claim("streak", metric, f"Streak: {label} at high or elite for {streak} iterations{flag}")
                )
    return {"went_well": went, "to_improve": worse}
