"""The measurements of one iteration: the named values an action item's target can watch next retro
(docs/action-items.md, "Watched measurements")."""

from __future__ import annotations

from hivepulse.metrics.results import DoraReport
from hivepulse.retro.facts import Measurement
from hivepulse.retro.fmt import count, number
from hivepulse.retro.tables import batch_sizes, failed_unrecovered, stage_summary
from hivepulse.vocabulary import STAGES


def measurements(report: DoraReport) -> dict[str, Measurement]:
    """Named values of one iteration that action targets watch, **unrounded** (``report.exact``, also when
    ``report`` is published), so a follow-up never judges a rounded value; ``metrics.json`` prints them rounded
    (:meth:`~hivepulse.retro.facts.Measurement.to_dict`).

    Names: the five metrics; ``<stage>_hours_median`` and ``<stage>_share`` for the four stages;
    ``changes_per_deployment`` (median); ``unrecovered_failures`` (count, n = failed deployments). A missing
    value is ``None`` (the follow-up then says *not measurable*).
    """
    out: dict[str, Measurement] = {}
    for name, metric in report.exact:
        out[name] = Measurement(number(metric.value), count(metric.n), rounded_in_record=True)
    summary = stage_summary(report.lead_times)
    for stage in STAGES:
        info = summary.get(stage) if summary is not None else None
        n = info.n if info else 0
        out[f"{stage}_hours_median"] = Measurement(info.median_hours if info else None, n)
        out[f"{stage}_share"] = Measurement(info.share if info else None, n)
    sizes = batch_sizes(report)
    out["changes_per_deployment"] = Measurement(float(sizes.median()) if len(sizes) else None, len(sizes))
    failed, unrec = failed_unrecovered(report)
    out["unrecovered_failures"] = Measurement(float(unrec), failed)
    return out


def outside(names: dict[str, Measurement]) -> dict[str, Measurement]:
    """The same names, none measurable: the iteration lies outside the data."""
    return {name: Measurement(None, 0, covered=False) for name in names}


__all__ = ["measurements", "outside"]
