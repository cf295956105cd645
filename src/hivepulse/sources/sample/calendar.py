"""The sample's clock and calendar: time units (whole seconds), the story's phases, and the team's working
days, hours and year-end release freeze."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

ENVIRONMENTS = ("development", "staging", "production")

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
WORK_START = 8 * HOUR  # team working hours, UTC
WORK_END = 17 * HOUR


@dataclass(frozen=True)
class Phases:
    """Week numbers (1-based) of the sample's story, derived from the number of weeks.

    Weeks ``1..bottleneck_until`` have the review-pickup bottleneck; weeks after ``manual_until`` have release
    automation (with 26 weeks: pickup bottleneck in weeks 1-8, automation from week 17).
    """

    weeks: int
    bottleneck_until: int
    manual_until: int

    @classmethod
    def for_weeks(cls, weeks: int) -> Phases:
        return cls(weeks, max(1, round(weeks * 8 / 26)), max(1, round(weeks * 16 / 26)))



def epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def day_date(day_index: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_index)


class Calendar:
    """Working days (Mon-Fri minus holidays), working hours 08:00-17:00 UTC, the year-end release freeze."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self.holidays: set[int] = set()
        self.freezes: list[tuple[int, int]] = []
        first = day_date(start // DAY)
        for year in range(first.year - 1, day_date(end // DAY).year + 1):
            for month, dom in ((12, 24), (12, 25), (12, 26), (12, 31)):
                self.holidays.add(epoch(date(year, month, dom)) // DAY)
            self.holidays.add(epoch(date(year + 1, 1, 1)) // DAY)
            # production release freeze: Saturday 20 December to Sunday 4 January inclusive
            self.freezes.append((epoch(date(year, 12, 20)), epoch(date(year + 1, 1, 5))))

    def is_workday(self, day_index: int) -> bool:
        return (day_index + 3) % 7 < 5 and day_index not in self.holidays

    def weekday(self, day_index: int) -> int:
        return (day_index + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0

    def in_freeze(self, t: int) -> bool:
        return any(a <= t < b for a, b in self.freezes)

    def to_work(self, t: int) -> int:
        """The first working instant at or after ``t``."""
        day, tod = divmod(t, DAY)
        if self.is_workday(day) and WORK_START <= tod < WORK_END:
            return t
        if self.is_workday(day) and tod < WORK_START:
            return day * DAY + WORK_START
        day += 1
        while not self.is_workday(day):
            day += 1
        return day * DAY + WORK_START

    def add_work(self, t: int, seconds: int) -> int:
        """``t`` plus ``seconds`` of working time (nights, weekends and holidays do not count)."""
        t = self.to_work(t)
        remaining = max(0, int(seconds))
        while True:
            day_end = (t // DAY) * DAY + WORK_END
            if remaining <= day_end - t:
                return t + remaining
            remaining -= day_end - t
            t = self.to_work(day_end)

