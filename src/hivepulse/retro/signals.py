"""From an iteration's figures to *signals*: the facts an action item can answer.

Input is the engine's typed report of the iteration (:class:`~hivepulse.metrics.results.DoraReport`, its
figures as published: :meth:`~hivepulse.metrics.results.DoraReport.published`) and the findings of the
profiling run that counts for it. Output is a list of :class:`~hivepulse.retro.facts.Signal`, each carrying
its RICE terms (reach, impact, confidence) and a one-line evidence in numbers. The exact rules are in
``docs/action-items.md``; the constants below are the thresholds it quotes.

Signal kinds:

- ``below_tier``: a tiered metric is not elite (``tier`` in high / medium / low);
- ``regression``: the comparison with the previous iteration is significant and the metric got worse;
- ``dominant_stage``: one lead-time stage (coding, pickup, review, deploy) holds >= ``DOMINANT_SHARE`` of
  the stage time of pull-request changes and is the largest stage;
- ``big_batches``: the median number of changes per successful deployment is >= ``BATCH_CHANGES``;
- ``unrecovered_failures``: failed deployments in the iteration with no recovery;
- ``missing_data``: a metric with no observations (``n == 0`` or no value);
- ``finding``: a profiling finding of kind ``problem`` (:mod:`hivepulse.retro.findings`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hivepulse.metrics.results import DoraReport, Metric
from hivepulse.metrics.tiers import next_tier_cutoff
from hivepulse.retro.facts import SIGNAL_KINDS, RegressionDetail, Signal, TierGap
from hivepulse.retro.findings import finding_signal
from hivepulse.retro.fmt import evidence_line, fmt_value, number
from hivepulse.retro.profiling import Finding
from hivepulse.retro.rice import TIER_IMPACT, confidence_from_n
from hivepulse.retro.tables import batch_sizes, failed_unrecovered, stage_summary
from hivepulse.vocabulary import HIGHER_IS_BETTER, METRIC_LABEL, METRICS, STAGES

DOMINANT_SHARE = 0.40
"""A stage is dominant when it holds at least this share of the summed stage hours (and is the largest)."""
BATCH_CHANGES = 10
"""Median changes per successful deployment at or above which batches count as large."""


def worse_than(metric: str, value: float, cutoff: float) -> bool:
    """True when ``value`` misses ``cutoff`` (for lower-is-better metrics: ``value >= cutoff``)."""
    return value < cutoff if metric in HIGHER_IS_BETTER else value >= cutoff


def reach_for(metric: str, report: DoraReport) -> tuple[float, str]:
    """Reach of a metric-level signal and how it was computed (see docs/action-items.md)."""
    block = report.metric(metric)
    value = number(block.value)
    nxt = next_tier_cutoff(metric, block.tier, report.config.tier_edition)
    if metric == "lead_time":
        lead_times = report.lead_times
        if nxt is not None and len(lead_times):
            hours = pd.to_numeric(lead_times["lead_time_hours"], errors="coerce").dropna()
            if len(hours):
                share = float((hours >= nxt[1]).mean())
                return share, f"{share:.0%} of changes take >= {nxt[1]:g} h"
        return 1.0, "every change"
    if metric == "recovery_time":
        recoveries = report.recoveries
        if len(recoveries) and nxt is not None:
            hours = pd.to_numeric(recoveries["recovery_hours"], errors="coerce")
            share = float(((hours >= nxt[1]) | hours.isna()).mean())
            return share, f"{share:.0%} of failed deployments take >= {nxt[1]:g} h to recover"
        return 1.0, "every failed deployment"
    if metric in ("change_fail_rate", "rework_rate") and value is not None:
        return min(max(value, 0.0), 1.0), f"{value:.0%} of deployments"
    return 1.0, "every change waits for a deployment" if metric == "deployment_frequency" else "all"


# ---------------------------------------------------------------------------------------------- detection


def _expected(report: DoraReport, metric: str, deployments_in_source: bool = True) -> bool:
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
        if report.metrics.deployment_frequency.n == 0:
            return False
        quality = report.data_quality
        if quality.first_deployment_changes_excluded + quality.negative_lead_times > 0:
            return False
        frame = report.deployments
        if len(frame):
            frame = frame[frame["counted"].fillna(False).astype(bool)]
            if len(frame) and frame["rollback_of"].notna().all():
                return False  # only rollbacks: they redeploy earlier changes and ship none
        return True
    if metric == "recovery_time":
        cfr = report.metrics.change_fail_rate
        value = number(cfr.value)
        return value is not None and value * cfr.n >= 0.5
    return False


def _missing(metric: str, value: float | None, n: int, deployments_in_source: bool) -> bool:
    """No observation: no value, or n = 0 (for deployment frequency: no deployment of the environment in
    the whole source; zero deployments in an iteration is a value)."""
    if metric == "deployment_frequency":
        return value is None or (n == 0 and not deployments_in_source)
    return value is None or n == 0


def _missing_evidence(report: DoraReport, metric: str, n: int) -> str:
    if metric == "deployment_frequency":
        return "deployment frequency: no deployment of this environment anywhere in the source data (n=0)"
    if metric == "lead_time":
        deps = report.metrics.deployment_frequency.n
        return (f"lead time median: {deps} deployment(s) in this iteration but no change linked to them "
                f"(n={n} changes)")
    return f"{METRIC_LABEL.get(metric, metric)}: no observations in this iteration (n={n})"


def _metric_signals(report: DoraReport, metric: str, block: Metric, deployments_in_source: bool) -> list[Signal]:
    value, n, tier = number(block.value), block.n, block.tier
    if _missing(metric, value, n, deployments_in_source):
        if not _expected(report, metric, deployments_in_source):
            return []
        return [Signal(kind="missing_data", metric=metric, evidence=_missing_evidence(report, metric, n),
                       reach=1.0, impact=1.0, confidence=1.0, value=value, n=n, tier=tier)]
    out: list[Signal] = []
    edition = report.config.tier_edition
    if tier in ("high", "medium", "low"):
        reach, how = reach_for(metric, report)
        nxt = next_tier_cutoff(metric, tier, edition)
        gap = f"; next tier {nxt[0]} needs {fmt_value(metric, nxt[1])}" if nxt else ""
        out.append(Signal(
            kind="below_tier", metric=metric, evidence=f"{evidence_line(metric, block)}{gap}; reach: {how}",
            reach=reach, impact=TIER_IMPACT[tier], confidence=confidence_from_n(n), value=value, n=n, tier=tier,
            details=TierGap(next_tier=nxt[0] if nxt else None, cutoff=nxt[1] if nxt else None),
        ))
    comp = report.comparison.get(metric) if report.comparison is not None else None
    if comp is not None and comp.claimed and comp.direction == "regressed":
        reach, how = reach_for(metric, report)
        prev = number(comp.previous_value)
        prev_txt = f"{fmt_value(metric, prev)}, n={comp.previous_n}" if prev is not None else ""
        p = number(comp.p_value)
        out.append(Signal(
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
            details=RegressionDetail(previous_value=prev, p_value=p),
        ))
    return out


def detect(report: DoraReport, *, findings: Sequence[Finding] = (), deployments_in_source: bool = True) -> list[Signal]:
    """All signals of one iteration, in a stable order (by kind, then metric).

    ``report``: the engine's report of the iteration (figures as published), with its comparison when there
    is one. ``deployments_in_source``: whether the source holds any deployment of the environment (in any
    window). When it does, zero deployments in this iteration is a measured deployment frequency (tier low,
    maybe a significant regression), not missing data.
    """
    out: list[Signal] = []
    for metric in METRICS:
        out += _metric_signals(report, metric, report.metric(metric), deployments_in_source)

    lt_block = report.metrics.lead_time
    lt_tier = lt_block.tier
    lt_impact = TIER_IMPACT.get(str(lt_tier), 1.0)
    summary = stage_summary(report.lead_times)
    if summary is not None:
        stage = max(STAGES, key=lambda s: summary.get(s).share)
        info = summary.get(stage)
        if info.share >= DOMINANT_SHARE:
            out.append(Signal(
                kind="dominant_stage",
                metric="lead_time",
                stage=stage,
                evidence=(
                    f"{evidence_line('lead_time', lt_block)}, {stage} is {info.share:.0%} of it "
                    f"(median {stage} {fmt_value('lead_time', info.median_hours)} over {info.n} pull "
                    f"requests; the longest stage for {info.largest_share:.0%} of them)"
                ),
                reach=info.largest_share,
                impact=lt_impact,
                confidence=confidence_from_n(info.n),
                value=info.share,
                n=info.n,
                tier=lt_tier,
                details=summary,
            ))

    sizes = batch_sizes(report)
    if len(sizes) and float(sizes.median()) >= BATCH_CHANGES:
        med = float(sizes.median())
        big = sizes[sizes >= BATCH_CHANGES]
        reach = float(big.sum() / sizes.sum())
        out.append(Signal(
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
        ))

    failed, unrec = failed_unrecovered(report)
    if unrec > 0:
        out.append(Signal(
            kind="unrecovered_failures",
            metric="recovery_time",
            evidence=f"{unrec} of {failed} failed deployments have no recovery in the data",
            reach=unrec / failed if failed else 1.0,
            impact=2.0,
            confidence=1.0,
            value=float(unrec),
            n=failed,
        ))

    for finding in findings:
        signal = finding_signal(finding)
        if signal is not None:
            out.append(signal)
    return out


__all__ = ["BATCH_CHANGES", "DOMINANT_SHARE", "SIGNAL_KINDS", "detect", "reach_for", "worse_than"]
