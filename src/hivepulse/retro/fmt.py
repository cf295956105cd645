"""How the retro writes a figure: a value with its unit, a confidence interval, one evidence line.

Plain text (no markup); the templates escape it for Markdown or HTML. Units come from
:mod:`hivepulse.vocabulary` (hours ``h``, rates ``%``, frequency ``/week``; profiling latencies ``ms``, ratios
``x``).
"""

from __future__ import annotations

import math

from hivepulse.metrics.results import Metric
from hivepulse.vocabulary import METRIC_LABEL, UNIT_SYMBOL

_RATIO_METRICS = ("speedup_p50", "naive_client_overhead", "baseline_ratio")


def number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` (for None, NaN, inf, booleans, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def count(value: object) -> int:
    """``value`` as a non-negative int (0 when missing)."""
    num = number(value)
    return int(num) if num is not None and num > 0 else 0


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
    symbol = UNIT_SYMBOL.get(metric)
    if symbol == "%" or metric.endswith("_share"):
        return f"{100 * value:.1f}%"
    if symbol == "/week":
        return f"{value:.2f}/week" if value < 10 else f"{value:.1f}/week"
    if symbol == "h" or metric.endswith("_hours_median"):
        return f"{value:.1f} h" if value < 10 else f"{value:.0f} h"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


_NEGATED = {"<": ">=", "<=": ">", ">=": "<", ">": "<="}


def _scaled(metric: str) -> tuple[float, str]:
    """The factor and unit suffix :func:`fmt_value` writes ``metric`` with (for :func:`fmt_pair`)."""
    symbol = UNIT_SYMBOL.get(metric)
    if symbol == "%" or metric.endswith("_share") or metric == "upstream_calls_saved":
        return 100.0, "%"
    if symbol == "/week":
        return 1.0, "/week"
    if symbol == "h" or metric.endswith("_hours_median"):
        return 1.0, " h"
    if metric.endswith("_ms"):
        return 1.0, " ms"
    if metric in _RATIO_METRICS:
        return 1.0, "x"
    return 1.0, ""


def fmt_pair(metric: str, value: float, other: float) -> tuple[str, str]:
    """``value`` and ``other`` written as :func:`fmt_value` does, with more significant digits (up to 12) when
    that would print two different numbers the same: ``(0.9992, 1)`` -> ``("0.9992 h", "1 h")``, never
    ``"1.0 h"`` twice. Equal numbers stay as :func:`fmt_value` writes them."""
    a, b = fmt_value(metric, value), fmt_value(metric, other)
    if a != b or value == other:
        return a, b
    factor, unit = _scaled(metric)
    for digits in range(3, 13):
        a, b = f"{value * factor:.{digits}g}", f"{other * factor:.{digits}g}"
        if a != b:
            return f"{a}{unit}", f"{b}{unit}"
    return f"{value * factor!r}{unit}", f"{other * factor!r}{unit}"


def comparison_text(metric: str, value: float | None, comparator: str, target: float | None, n: int = 0) -> str:
    """Why a follow-up verdict is what it is, from the unrounded value: ``0.9992 h < 1 h`` (met),
    ``1.6 h >= 1 h`` (not met: the negated comparator), ``n=3 >= 1`` for ``measurable`` items; ``""`` when
    there is nothing to compare (not measurable)."""
    if comparator == "measurable":
        return f"n={n} >= 1" if n >= 1 and value is not None else f"n={n} < 1"
    if value is None or target is None or comparator not in _NEGATED:
        return ""
    ok = {"<": value < target, "<=": value <= target, ">=": value >= target, ">": value > target}[comparator]
    now, then = fmt_pair(metric, value, target)
    return f"{now} {comparator if ok else _NEGATED[comparator]} {then}"


def fmt_ci(metric: str, block: Metric) -> str:
    """``CI 38-70 h`` (the unit once), or ``CI n/a``."""
    low, high = number(block.ci_low), number(block.ci_high)
    if low is None or high is None:
        return "CI n/a"
    lo, hi = fmt_value(metric, low), fmt_value(metric, high)
    for unit in (" h", "%", "/week"):
        if lo.endswith(unit) and hi.endswith(unit):
            return f"CI {lo[: -len(unit)]}-{hi}"
    return f"CI {lo}-{hi}"


def evidence_line(metric: str, block: Metric) -> str:
    """``lead time median 52 h (n=41, CI 38-70 h, tier high)``."""
    tier_txt = f", tier {block.tier}" if block.tier else ""
    return (
        f"{METRIC_LABEL.get(metric, metric)} {fmt_value(metric, number(block.value))} "
        f"(n={count(block.n)}, {fmt_ci(metric, block)}{tier_txt})"
    )


__all__ = ["comparison_text", "count", "evidence_line", "fmt_ci", "fmt_pair", "fmt_value", "number"]
