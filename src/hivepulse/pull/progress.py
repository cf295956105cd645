"""Progress bars for pulls: one tqdm bar per kind of work (pages, statuses, timelines, comparisons), on stderr.

Readers report through the :class:`hivepulse.sources.github.readers.Progress` protocol; ``--no-progress``
passes :class:`~hivepulse.sources.github.readers.NoProgress` instead. Bars show counts only (no URLs, no
names), so nothing from a payload reaches the terminal.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Bars:
    """One tqdm bar at a time: a new kind of work (``what``) closes the previous bar; ``total`` (when known)
    sets the bar's length."""

    def __init__(self, *, prefix: str = "", stream: Any = None) -> None:
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.what: str | None = None
        self.bar: tqdm[Any] | None = None

    def step(self, what: str, n: int = 1, total: int | None = None) -> None:
        if what != self.what or self.bar is None:
            self.close()
            self.what = what
            self.bar = tqdm(total=total, desc=f"{self.prefix}{what}", unit="", file=self.stream, leave=False,
                            dynamic_ncols=True, mininterval=0.2)
        elif total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None
        self.what = None


__all__ = ["Bars"]
