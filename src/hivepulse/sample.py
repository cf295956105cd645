"""The bundled sample: a deterministic 26-week history of a HiveBox team (``hivepulse sample``).

HiveBox is a small REST API around openSenseMap (``/version``, ``/temperature``, ``/metrics``, ``/store``,
``/readyz``) shipped with CI/CD, Kubernetes and Argo CD to three environments: ``development``, ``staging``
and ``production``. :func:`generate` simulates the team's pull requests, release pipeline, failures and
incidents and returns an :class:`~hivepulse.model.EventSet`; :func:`write_sample` writes it as
``deployments.csv``, ``changes.csv`` and ``incidents.csv`` with :func:`hivepulse.sources.files.write_events`
(the canonical CSV writer). ``docs/sample.md`` documents the exact rules, the story and the planted signals
(pickup bottleneck early, release automation after week 16, exactly two clock-skew negative lead-time spans,
unresolved incidents in the last week, one incident that matches no deployment).

Determinism: every random draw comes from one ``numpy.random.default_rng(seed)`` consumed in a fixed order;
times are whole seconds (Unix epoch integers) internally, so the same seed, weeks and end date give
byte-identical files. Nothing depends on today's date.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from hivepulse.errors import InputError
from hivepulse.model import EventSet, event_set
from hivepulse.sources.files import write_events

DEFAULT_SEED = 42
DEFAULT_WEEKS = 26
DEFAULT_END = date(2026, 5, 25)  # a Monday: the window is [2025-11-24, 2026-05-25) UTC
ENVIRONMENTS = ("development", "staging", "production")

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
WORK_START = 8 * HOUR  # team working hours, UTC
WORK_END = 17 * HOUR

#: Conventional Commits types of ordinary changes and their probabilities (reverts and hotfix fixes are
#: created by the remediation of failed deployments).
CHANGE_TYPES = ("feat", "fix", "chore", "refactor", "docs", "test", "ci", "perf", "build")
CHANGE_TYPE_P = (0.30, 0.24, 0.14, 0.08, 0.07, 0.07, 0.05, 0.03, 0.02)
DIRECT_PUSH_TYPES = frozenset({"chore", "docs", "ci", "build"})


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


@dataclass
class SampleInfo:
    """What was planted, for tests and docs (ids as written in the files)."""

    seed: int
    since: pd.Timestamp
    until: pd.Timestamp
    phases: Phases
    negative_span_changes: list[str] = field(default_factory=list)
    unresolved_incidents: list[str] = field(default_factory=list)
    unattributable_incidents: list[str] = field(default_factory=list)


def parse_end(text: str) -> date:
    """Parse ``--end`` (``YYYY-MM-DD``); the window ends at 00:00 UTC of that day (exclusive)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("invalid --end", value=text, expected="a date YYYY-MM-DD") from None


def generate(
    seed: int = DEFAULT_SEED, *, weeks: int = DEFAULT_WEEKS, end: date = DEFAULT_END
) -> tuple[EventSet, SampleInfo]:
    """Simulate ``weeks`` weeks ending at 00:00 UTC of ``end`` and return the events and the planted facts."""
    if not 4 <= weeks <= 260:
        raise InputError("invalid --weeks", value=weeks, expected="an integer from 4 to 260")
    if seed < 0:
        raise InputError("invalid --seed", value=seed, expected="a non-negative integer")
    sim = _Simulation(seed, weeks, end)
    return sim.run()


# ----------------------------------------------------------------------------------------------- calendar


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _day_date(day_index: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_index)


class _Calendar:
    """Working days (Mon-Fri minus holidays), working hours 08:00-17:00 UTC, the year-end release freeze."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self.holidays: set[int] = set()
        self.freezes: list[tuple[int, int]] = []
        first = _day_date(start // DAY)
        for year in range(first.year - 1, _day_date(end // DAY).year + 1):
            for month, dom in ((12, 24), (12, 25), (12, 26), (12, 31)):
                self.holidays.add(_epoch(date(year, month, dom)) // DAY)
            self.holidays.add(_epoch(date(year + 1, 1, 1)) // DAY)
            # production release freeze: Saturday 20 December to Sunday 4 January inclusive
            self.freezes.append((_epoch(date(year, 12, 20)), _epoch(date(year + 1, 1, 5))))

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


# ----------------------------------------------------------------------------------------------- records


@dataclass
class _Change:
    committed: int
    change_type: str
    available: int  # on main (merged or pushed)
    authored: int
    pr: bool
    pr_opened: int | None = None
    first_review: int | None = None
    merged: int | None = None
    deployment: int | None = None  # key of the production deployment that shipped it
    sha: str = ""


@dataclass
class _Deployment:
    environment: str
    started: int
    finished: int
    status: str
    commit_sha: str
    version: str = ""
    kind: str = "planned"
    rollback_of: int | None = None
    key: int = 0


@dataclass
class _Incident:
    opened: int
    resolved: int | None
    deployment: int | None
    severity: str
    fix_change: int | None = None  # resolved when this change reaches production


@dataclass
class _Outcome:
    """What a remediation did: when production is free again, and the version it left running."""

    blocked_until: int
    version: tuple[int, int, int] | None = None
    prod_version: str = ""
    prod_sha: str = ""


class _Simulation:
    def __init__(self, seed: int, weeks: int, end: date) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.end = _epoch(end)
        self.start = self.end - weeks * WEEK
        self.phases = Phases.for_weeks(weeks)
        self.cal = _Calendar(self.start, self.end)
        self.changes: list[_Change] = []
        self.deployments: list[_Deployment] = []
        self.incidents: list[_Incident] = []
        self.used_shas: set[str] = set()
        self.negative: list[int] = []
        self.unattributable: list[int] = []
        self.planted_open: list[int] = []
        self.main_queue: list[
            tuple[int, int]
        ] = []  # (time on main, change index), heap of unreleased changes

    # -- random helpers (fixed consumption order) --------------------------------------------------------

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def lognormal(self, median: float, sigma: float) -> float:
        """A log-normal draw with the given median (same unit as ``median``)."""
        return float(median * math.exp(sigma * float(self.rng.standard_normal())))

    def sha(self) -> str:
        while True:
            value = self.rng.bytes(6).hex()
            if value not in self.used_shas:
                self.used_shas.add(value)
                return value

    # -- story ---------------------------------------------------------------------------------------------

    def week(self, t: int) -> int:
        """1-based week of the window containing ``t`` (0 or less before the window)."""
        return (t - self.start) // WEEK + 1

    def bottleneck(self, t: int) -> bool:
        return self.week(t) <= self.phases.bottleneck_until

    def automated(self, t: int) -> bool:
        return self.week(t) > self.phases.manual_until

    # -- changes -------------------------------------------------------------------------------------------

    def new_change(
        self, committed: int, change_type: str, *, urgent: bool = False, pr: bool = True, queued_from: int = 0
    ) -> int:
        """Create a change committed at ``committed`` and walk its pull request; return its index.

        ``queued_from``: nobody looks at the pull request before this time (the backlog at the window start).
        """
        cal = self.cal
        auto = self.automated(committed)
        authored = committed
        if self.chance(0.25):
            authored = committed - int(self.lognormal(40 * MINUTE, 1.0))
        c = _Change(committed=committed, change_type=change_type, available=0, authored=authored, pr=pr)
        if not pr:
            c.available = committed + int(self.lognormal(20 * MINUTE, 0.8))
        elif urgent:  # hotfix: everyone drops what they do, wall-clock times
            c.pr_opened = committed + int(self.lognormal(8 * MINUTE, 0.5))
            c.first_review = c.pr_opened + int(self.lognormal(12 * MINUTE, 0.6))
            c.merged = c.first_review + int(self.lognormal(15 * MINUTE, 0.5))
            c.available = c.merged
        else:
            coding = self.lognormal((1.0 if auto else 1.6) * HOUR, 1.0)
            c.pr_opened = cal.add_work(committed, int(coding))
            queue_start = max(c.pr_opened, queued_from)
            if self.chance(0.04):  # merged without review (docs, trivial chores)
                c.merged = cal.add_work(queue_start, int(self.lognormal(0.5 * HOUR, 0.8)))
            else:
                if change_type == "revert":
                    pickup = self.lognormal(0.4 * HOUR, 0.6)
                elif self.bottleneck(c.pr_opened):
                    # the review queue: nobody owns reviews, PRs wait one to four working days
                    if self.chance(0.75):
                        pickup = self.lognormal(14 * HOUR, 0.6)
                    else:
                        pickup = self.lognormal(30 * HOUR, 0.5)
                else:  # review rotation: a named reviewer of the day picks PRs up within hours
                    pickup = self.lognormal(1.2 * HOUR, 1.0)
                c.first_review = cal.add_work(queue_start, int(pickup))
                if self.chance(0.12):  # some PRs wait days in review (design discussion, rework)
                    review = self.lognormal(16 * HOUR, 0.6)
                else:
                    review = self.lognormal((1.3 if auto else 2.0) * HOUR, 0.9)
                c.merged = cal.add_work(c.first_review, int(review))
            c.available = c.merged
        c.sha = self.sha()
        self.changes.append(c)
        index = len(self.changes) - 1
        if not urgent:  # a hotfix ships in its own unplanned deployment
            heapq.heappush(self.main_queue, (c.available, index))
        return index

    def commit_rate(self, day_index: int) -> float:
        t = day_index * DAY
        if self.cal.in_freeze(t):
            return 1.5
        if not self.automated(t):
            return 4.5
        # after the automation, smaller pull requests: the change rate climbs from 5.5 to 7 a day
        first = self.phases.manual_until + 1
        progress = (self.week(t) - first) / max(1, self.phases.weeks - first)
        return 5.5 + 1.5 * progress

    def generate_changes(self) -> None:
        # a backlog of pull requests opened in the two weeks before the window, still waiting for review
        for _ in range(6):
            day = (self.start - int(self.uniform(2, 14)) * DAY) // DAY
            while not self.cal.is_workday(day):
                day -= 1
            committed = day * DAY + WORK_START + int(self.uniform(0, WORK_END - WORK_START - 2 * HOUR))
            change_type = ("feat", "fix", "refactor")[int(self.rng.integers(0, 3))]
            self.new_change(committed, change_type, queued_from=self.start)
        for day in range(self.start // DAY, self.end // DAY):
            if not self.cal.is_workday(day):
                continue
            for _ in range(int(self.rng.poisson(self.commit_rate(day)))):
                self.ordinary_change(day)

    def ordinary_change(self, day: int) -> None:
        tod = WORK_START + int(self.uniform(0, WORK_END - WORK_START))
        if self.chance(0.08):  # evening commits
            tod = WORK_END + int(self.uniform(0, 3 * HOUR))
        change_type = str(self.rng.choice(CHANGE_TYPES, p=CHANGE_TYPE_P))
        pr = not (change_type in DIRECT_PUSH_TYPES and self.chance(0.35))
        self.new_change(day * DAY + tod, change_type, pr=pr)

    # -- deployments ---------------------------------------------------------------------------------------

    def add_deployment(self, dep: _Deployment) -> int:
        dep.key = len(self.deployments)
        self.deployments.append(dep)
        return dep.key

    def production_slots(self) -> list[int]:
        """Candidate release times: manual releases most afternoons, then an automated check every 30 minutes."""
        slots: list[int] = []
        for day in range(self.start // DAY, self.end // DAY):
            if not self.cal.is_workday(day) or self.cal.in_freeze(day * DAY):
                continue
            base = day * DAY
            friday = self.cal.weekday(day) == 4
            if self.automated(base):
                # continuous delivery: the pipeline checks main every 30 minutes (Fridays until 15:00)
                last = 15 * HOUR if friday else 17 * HOUR
                for tod in range(8 * HOUR + 30 * MINUTE, last + 1, 30 * MINUTE):
                    slots.append(base + tod + int(self.uniform(0, 5 * MINUTE)))
            else:
                # release days are Tuesday and Thursday; other days see an extra release now and then
                release_day = self.cal.weekday(day) in (1, 3)
                if self.chance(1.0 if release_day else (0.15 if friday else 0.3)):
                    tod = 14 * HOUR + int(self.rng.normal(0, 50 * MINUTE))
                    slots.append(base + min(max(tod, 11 * HOUR), 16 * HOUR + 30 * MINUTE))
        return slots

    def bump(self, version: tuple[int, int, int], types: list[str]) -> tuple[int, int, int]:
        """semantic-release style: any feat bumps the minor version, anything else the patch."""
        major, minor, patch = version
        return (major, minor + 1, 0) if "feat" in types else (major, minor, patch + 1)

    def simulate_production(self) -> None:
        plants = self.planted_failure_times()
        slots = self.production_slots()
        pending: list[int] = []  # change indexes on main, not yet in production
        blocked_until = self.start
        version = (1, 4, 0)
        prod_version = "v1.4.0"
        prod_sha = self.sha()
        for slot in slots:
            if slot < blocked_until or slot >= self.end:
                continue
            auto = self.automated(slot)
            soak = int(self.uniform(12, 20) * MINUTE) if auto else int(self.uniform(30, 60) * MINUTE)
            cut = slot - soak
            while self.main_queue and self.main_queue[0][0] <= cut:
                pending.append(heapq.heappop(self.main_queue)[1])
            if not pending:
                continue
            batch = list(pending)
            head = max(batch, key=lambda i: (self.changes[i].available, i))
            head_sha = self.changes[head].sha
            next_version = self.bump(version, [self.changes[i].change_type for i in batch])
            vname = "v{}.{}.{}".format(*next_version)
            # staging first; a failed staging deployment makes the batch wait for the next slot
            s_start = cut + int(self.uniform(1, 4) * MINUTE)
            s_end = s_start + int(self.lognormal((4 if auto else 7) * MINUTE, 0.3))
            staging_ok = not self.chance(0.04 if auto else 0.07)
            status = "success" if staging_ok else "failure"
            self.add_deployment(_Deployment("staging", s_start, s_end, status, head_sha, vname))
            if not staging_ok:
                continue
            # production: a failed attempt (sync or health check) is retried
            start = max(slot, s_end + 2 * MINUTE)
            teething = auto and self.week(slot) == self.phases.manual_until + 1
            p_fail = 0.12 if teething else (0.025 if auto else 0.12)
            duration = int(self.lognormal((5 if auto else 16) * MINUTE, 0.35))
            if self.chance(p_fail):
                self.add_deployment(
                    _Deployment("production", start, start + duration, "failure", head_sha, vname)
                )
                wait = self.uniform(6, 20) if auto else self.uniform(15, 50)
                start = start + duration + int(wait * MINUTE)
                duration = int(self.lognormal((5 if auto else 16) * MINUTE, 0.35))
            finish = start + duration
            if finish >= self.end:
                break
            d = self.add_deployment(_Deployment("production", start, finish, "success", head_sha, vname))
            for i in batch:
                self.changes[i].deployment = d
            pending.clear()
            previous_version, previous_sha = prod_version, prod_sha
            version, prod_version, prod_sha = next_version, vname, head_sha
            blocked_until = finish + 5 * MINUTE
            # did it break production? bigger batches break more often
            q_bad = 0.03 if auto else 0.045
            bad = self.chance(1 - (1 - q_bad) ** len(batch))
            plant = None
            if plants and finish >= plants[0][0]:
                plant = plants.pop(0)[1]
                bad = True
            if not bad:
                continue
            outcome = self.remediate(d, auto, plant, previous_version, previous_sha, version)
            blocked_until = max(blocked_until, outcome.blocked_until)
            if outcome.version is not None:
                version = outcome.version
                prod_version, prod_sha = outcome.prod_version, outcome.prod_sha

    def planted_failure_times(self) -> list[tuple[int, str]]:
        """Two failed deployments in the last week whose incidents are still open at the end (one named)."""
        last_monday = self.end - WEEK
        return [
            (last_monday + 1 * DAY + 9 * HOUR, "open-named"),
            (last_monday + 3 * DAY + 9 * HOUR, "open-unnamed"),
        ]

    # -- remediation ---------------------------------------------------------------------------------------

    def remediate(
        self,
        d: int,
        auto: bool,
        plant: str | None,
        previous_version: str,
        previous_sha: str,
        version: tuple[int, int, int],
    ) -> _Outcome:
        """Break production after deployment ``d``: rollback, hotfix or fix forward, with or without an incident.

        ``plant`` forces a still-open sev3 incident (the last-week plants). Returns when production is free.
        """
        dep = self.deployments[d]
        f = dep.finished
        if plant is not None:
            opened = f + int(self.lognormal(25 * MINUTE, 0.5))
            named = plant == "open-named"
            self.incidents.append(_Incident(opened, None, d if named else None, "sev3"))
            self.planted_open.append(len(self.incidents) - 1)
            return _Outcome(blocked_until=opened + 5 * MINUTE)
        choice = self.rng.random()
        if auto:
            action = "rollback" if choice < 0.6 else ("hotfix" if choice < 0.9 else "fixforward")
        else:
            action = "rollback" if choice < 0.35 else ("hotfix" if choice < 0.8 else "fixforward")
        has_incident = action == "fixforward" or self.chance(0.8 if action == "rollback" else 0.85)
        detect = f + max(2 * MINUTE, int(self.lognormal((12 if auto else 45) * MINUTE, 0.8)))
        named = self.chance(0.6)
        incident: _Incident | None = None
        if has_incident:
            if action == "rollback":
                severity = "sev1" if self.chance(0.3) else "sev2"
            elif action == "hotfix":
                severity = "sev2" if self.chance(0.6) else "sev3"
            else:
                severity = "sev3"
            incident = _Incident(detect, None, d if named else None, severity)
            self.incidents.append(incident)
        if action == "rollback":
            trigger = detect if incident else f + int(self.uniform(10, 60) * MINUTE)
            r_start = trigger + int(self.lognormal((4 if auto else 20) * MINUTE, 0.5))
            r_end = r_start + int(self.lognormal((3 if auto else 6) * MINUTE, 0.3))
            self.add_deployment(
                _Deployment(
                    "production", r_start, r_end, "success", previous_sha, previous_version, "unplanned", d
                )
            )
            if incident:
                incident.resolved = r_end + int(self.lognormal(15 * MINUTE, 0.6))
            # the team reverts the offending change on main; it ships with a later release
            self.new_change(self.cal.add_work(r_end, int(self.lognormal(1.5 * HOUR, 0.6))), "revert")
            return _Outcome(r_end + 10 * MINUTE, version, previous_version, previous_sha)
        if action == "hotfix":
            trigger = detect if incident else f + int(self.uniform(30, 180) * MINUTE)
            committed = trigger + int(self.lognormal((30 if auto else 50) * MINUTE, 0.6))
            fix = self.new_change(committed, "fix" if self.chance(0.8) else "revert", urgent=True)
            c = self.changes[fix]
            fixed_version = (version[0], version[1], version[2] + 1)
            vname = "v{}.{}.{}".format(*fixed_version)
            s_start = c.available + int(self.uniform(5, 10) * MINUTE)
            s_end = s_start + int(self.lognormal((4 if auto else 7) * MINUTE, 0.3))
            self.add_deployment(_Deployment("staging", s_start, s_end, "success", c.sha, vname))
            h_start = s_end + int(self.uniform(3, 10) * MINUTE)
            h_end = h_start + int(self.lognormal((5 if auto else 15) * MINUTE, 0.35))
            h = self.add_deployment(
                _Deployment("production", h_start, h_end, "success", c.sha, vname, "unplanned")
            )
            c.deployment = h
            if incident:
                incident.resolved = h_end + int(self.lognormal(20 * MINUTE, 0.6))
            return _Outcome(h_end + 10 * MINUTE, fixed_version, vname, c.sha)
        # fix forward: the fix goes through the normal flow, fast
        assert incident is not None
        incident.fix_change = self.new_change(
            self.cal.add_work(detect, int(self.lognormal(1.0 * HOUR, 0.6))), "fix"
        )
        return _Outcome(detect + 5 * MINUTE)

    # -- development -----------------------------------------------------------------------------------------

    def simulate_development(self) -> None:
        """CI deploys main to development after every change reaches it (a failed run is re-run)."""
        order = sorted(range(len(self.changes)), key=lambda i: (self.changes[i].available, i))
        for i in order:
            c = self.changes[i]
            start = c.available + int(self.uniform(1, 3) * MINUTE)
            finish = start + int(self.lognormal(6 * MINUTE, 0.3))
            if self.chance(0.04):
                self.add_deployment(_Deployment("development", start, finish, "failure", c.sha))
                start = finish + int(self.uniform(5, 30) * MINUTE)
                finish = start + int(self.lognormal(6 * MINUTE, 0.3))
            self.add_deployment(_Deployment("development", start, finish, "success", c.sha))

    # -- planted data-quality signals ------------------------------------------------------------------------

    def plant_upstream_incident(self) -> None:
        """An openSenseMap outage during the release freeze: no deployment within 7 days, so none is blamed."""
        for a, _b in self.cal.freezes:
            opened = a + 10 * DAY + 9 * HOUR + 40 * MINUTE  # 30 December, 09:40 UTC
            if self.start + WEEK <= a and opened + DAY < self.end:
                resolved = opened + int(self.lognormal(3 * HOUR, 0.3))
                self.incidents.append(_Incident(opened, resolved, None, "sev2"))
                self.unattributable.append(len(self.incidents) - 1)

    def plant_clock_skew(self) -> None:
        """Exactly two changes committed on a machine whose clock ran ahead: committed after deployment."""
        targets = [self.start + (self.phases.weeks // 3) * WEEK, self.end - 2 * WEEK]
        for target in targets:
            candidates = [
                i
                for i, c in enumerate(self.changes)
                if c.pr
                and c.deployment is not None
                and target <= self.deployments[c.deployment].finished < self.end - DAY
                and i not in self.negative
                and c.change_type in ("feat", "refactor")
            ]
            if not candidates:
                continue
            i = min(candidates, key=lambda k: (self.deployments[self.changes[k].deployment].finished, k))  # type: ignore[index]
            c = self.changes[i]
            skewed = self.deployments[c.deployment].finished + int(self.uniform(2, 6) * HOUR)  # type: ignore[index]
            c.committed = skewed
            c.authored = skewed
            self.negative.append(i)

    # -- run -------------------------------------------------------------------------------------------------

    def run(self) -> tuple[EventSet, SampleInfo]:
        self.generate_changes()
        self.simulate_production()
        self.simulate_development()
        self.plant_upstream_incident()
        for inc in self.incidents:
            if inc.fix_change is not None:
                fix = self.changes[inc.fix_change]
                if fix.deployment is not None:
                    inc.resolved = self.deployments[fix.deployment].finished + int(
                        self.lognormal(20 * MINUTE, 0.6)
                    )
        self.plant_clock_skew()
        return self.frames()

    def frames(self) -> tuple[EventSet, SampleInfo]:
        end = self.end
        kept = [d for d in self.deployments if d.finished < end]
        kept_keys = {d.key for d in kept}
        ids: dict[int, str] = {}
        prefix = {"development": "dev", "staging": "stg", "production": "prod"}
        for env in ENVIRONMENTS:
            ordered = sorted(
                (d for d in kept if d.environment == env), key=lambda d: (d.finished, d.started, d.key)
            )
            for n, d in enumerate(ordered, start=1):
                ids[d.key] = f"{prefix[env]}-{n:04d}"
        kept.sort(key=lambda d: (d.finished, ENVIRONMENTS.index(d.environment), ids[d.key]))

        def ts(t: int | None) -> pd.Timestamp | None:
            return None if t is None or t >= end else pd.Timestamp(t, unit="s", tz="UTC")

        deployments = pd.DataFrame(
            {
                "deployment_id": [ids[d.key] for d in kept],
                "environment": [d.environment for d in kept],
                "finished_at": [ts(d.finished) for d in kept],
                "status": [d.status for d in kept],
                "started_at": [ts(d.started) for d in kept],
                "commit_sha": [d.commit_sha for d in kept],
                "version": [d.version or None for d in kept],
                "kind": [d.kind for d in kept],
                "rollback_of": [ids.get(d.rollback_of) if d.rollback_of is not None else None for d in kept],
                "first_deployment": [False for _ in kept],
            }
        )

        # changes: those committed before the end; PR numbers ascending with PR opening time
        chosen = [i for i, c in enumerate(self.changes) if c.committed < end]
        pr_order = sorted(
            (i for i in chosen if self.changes[i].pr and (self.changes[i].pr_opened or end) < end),
            key=lambda i: (self.changes[i].pr_opened, i),
        )
        numbers: dict[int, int] = {}
        number = 117
        for i in pr_order:
            number += 1 + int(self.rng.geometric(0.6)) - 1
            numbers[i] = number
        chosen.sort(key=lambda i: (self.changes[i].committed, self.changes[i].sha))

        def dep_id(c: _Change) -> str | None:
            return ids[c.deployment] if c.deployment is not None and c.deployment in kept_keys else None

        def pr_ts(i: int, t: int | None) -> pd.Timestamp | None:
            return ts(t) if i in numbers else None

        changes = pd.DataFrame(
            {
                "change_id": [self.changes[i].sha for i in chosen],
                "committed_at": [pd.Timestamp(self.changes[i].committed, unit="s", tz="UTC") for i in chosen],
                "deployment_id": [dep_id(self.changes[i]) for i in chosen],
                "authored_at": [pd.Timestamp(self.changes[i].authored, unit="s", tz="UTC") for i in chosen],
                "pr_number": [numbers.get(i) for i in chosen],
                "pr_opened_at": [pr_ts(i, self.changes[i].pr_opened) for i in chosen],
                "first_review_at": [pr_ts(i, self.changes[i].first_review) for i in chosen],
                "merged_at": [pr_ts(i, self.changes[i].merged) for i in chosen],
                "change_type": [self.changes[i].change_type for i in chosen],
            }
        )
        changes["pr_number"] = changes["pr_number"].astype("Int64")

        inc_order = sorted(
            (k for k, inc in enumerate(self.incidents) if inc.opened < end),
            key=lambda k: (self.incidents[k].opened, k),
        )
        inc_ids = {k: f"inc-{n:04d}" for n, k in enumerate(inc_order, start=1)}
        incidents = pd.DataFrame(
            {
                "incident_id": [inc_ids[k] for k in inc_order],
                "opened_at": [ts(self.incidents[k].opened) for k in inc_order],
                "resolved_at": [ts(self.incidents[k].resolved) for k in inc_order],
                "deployment_id": [
                    ids.get(self.incidents[k].deployment)
                    if self.incidents[k].deployment is not None
                    else None
                    for k in inc_order
                ],
                "severity": [self.incidents[k].severity for k in inc_order],
                "environment": ["production" for _ in inc_order],
            }
        )
        events = event_set(deployments, changes, incidents, source=f"hivepulse sample seed={self.seed}")
        since = pd.Timestamp(self.start, unit="s", tz="UTC")
        info = SampleInfo(
            seed=self.seed,
            since=since,
            until=pd.Timestamp(end, unit="s", tz="UTC"),
            phases=self.phases,
            negative_span_changes=sorted(self.changes[i].sha for i in self.negative),
            unresolved_incidents=[
                inc_ids[k]
                for k in inc_order
                if self.incidents[k].resolved is None or self.incidents[k].resolved >= end
            ],
            unattributable_incidents=[inc_ids[k] for k in self.unattributable if k in inc_ids],
        )
        return events, info


def write_sample(
    out_dir: str | Path, seed: int = DEFAULT_SEED, *, weeks: int = DEFAULT_WEEKS, end: date = DEFAULT_END
) -> tuple[EventSet, SampleInfo]:
    """Generate the sample and write it to ``out_dir``; nothing is written if generation fails."""
    events, info = generate(seed, weeks=weeks, end=end)
    write_events(events, out_dir)  # canonical CSV, validated by reading back, atomic
    return events, info
