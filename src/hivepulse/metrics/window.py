"""The measurement window ``[since, until)`` on deployment ``finished_at`` (UTC), and instants parsed for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from hivepulse.errors import InputError

if TYPE_CHECKING:
    from hivepulse.metrics.results import JSON


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


def iso(ts: pd.Timestamp) -> str:
    """``2026-04-27T00:00:00Z``: a timestamp as ISO 8601 UTC with ``Z`` (the JSON contract's spelling)."""
    return ts.tz_convert("UTC").tz_localize(None).isoformat() + "Z"


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
        return float((self.until - self.since) / pd.Timedelta(days=1))

    def previous(self) -> Window:
        """The window of the same length immediately before this one."""
        return Window(self.since - (self.until - self.since), self.since)

    def to_dict(self, tz: str = "UTC") -> dict[str, JSON]:
        """``{"since", "until", "tz", "days"}`` of the JSON contract (``tz`` is the report's zone)."""
        return {"since": iso(self.since), "until": iso(self.until), "tz": tz, "days": self.days}


__all__ = ["Window", "iso", "parse_instant"]
