"""How the profiling report writes a number: a unit, sensible rounding, thousands separators, and a dash (with the
reason as a footnote) where there is no value. Never ``NaN``, ``None`` or ``6.000e-03``."""

from __future__ import annotations

import math
from dataclasses import dataclass

DASH = "—"


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, whether it is a number (right-aligned), and why it is empty (a footnote)."""

    text: str
    num: bool = False
    note: str | None = None


def missing(note: str) -> Cell:
    return Cell(DASH, True, note)


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def sig(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, never in exponent form: 0.006 -> ``0.006``, 1520.001 -> ``1,520``."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def ms(value: object, note: str = "not measured") -> Cell:
    v = _finite(value)
    if v is None:
        return missing(note)
    return Cell(f"{sig(v / 1000)} s" if v >= 10_000 else f"{sig(v)} ms", True)


def per_s(value: object, note: str = "not measured") -> Cell:
    v = _finite(value)
    return missing(note) if v is None else Cell(f"{sig(v)}/s", True)


def share(value: object, note: str = "not measured") -> Cell:
    v = _finite(value)
    if v is None:
        return missing(note)
    pct = 100 * v
    return Cell(f"{pct:.0f}%" if pct >= 10 or pct == 0 else f"{sig(pct, 2)}%", True)


def times(value: object, note: str = "not measured") -> Cell:
    v = _finite(value)
    return missing(note) if v is None else Cell(f"{sig(v, 3 if v < 100 else 4)}x", True)


def count(value: object, note: str = "not measured") -> Cell:
    v = _finite(value)
    return missing(note) if v is None else Cell(f"{round(v):,}", True)


def number(value: object, note: str = "not measured", unit: str = "") -> Cell:
    v = _finite(value)
    return missing(note) if v is None else Cell(f"{sig(v)}{unit}", True)


def text(value: object, note: str = "not recorded") -> Cell:
    return missing(note) if value in (None, "") else Cell(str(value))


__all__ = ["DASH", "Cell", "count", "missing", "ms", "number", "per_s", "share", "sig", "text", "times"]
