"""The sample's simulation: pull requests, the release pipeline to staging and production, CI deployments to
development, and the planted data-quality signals. Every random draw comes from one
``numpy.random.default_rng(seed)`` consumed in a fixed order (``docs/sample.md``)."""

from __future__ import annotations

import heapq
import math
from datetime import date

import numpy as np

from hivepulse.model import EventSet
from hivepulse.sources.sample.calendar import (
    DAY,
    HOUR,
    MINUTE,
    WEEK,
    WORK_END,
    WORK_START,
    Calendar,
    Phases,
    epoch,
)
from hivepulse.sources.sample.frames import SampleInfo, build_frames
from hivepulse.sources.sample.records import (
    CHANGE_TYPE_P,
    CHANGE_TYPES,
    DIRECT_PUSH_TYPES,
    Change,
    Deployment,
    Incident,
)
from hivepulse.sources.sample.remediation import remediate


class Simulation:
    def __init__(self, seed: int, weeks: int, end: date) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.end = epoch(end)
        self.start = self.end - weeks * WEEK
        self.phases = Phases.for_weeks(weeks)
        self.cal = Calendar(self.start, self.end)
        self.changes: list[Change] = []
        self.deployments: list[Deployment] = []
        self.incidents: list[Incident] = []
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
        c = Change(committed=committed, change_type=change_type, available=0, authored=authored, pr=pr)
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

    def add_deployment(self, dep: Deployment) -> int:
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
            self.add_deployment(Deployment("staging", s_start, s_end, status, head_sha, vname))
            if not staging_ok:
                continue
            # production: a failed attempt (sync or health check) is retried
            start = max(slot, s_end + 2 * MINUTE)
            teething = auto and self.week(slot) == self.phases.manual_until + 1
            p_fail = 0.12 if teething else (0.025 if auto else 0.12)
            duration = int(self.lognormal((5 if auto else 16) * MINUTE, 0.35))
            if self.chance(p_fail):
                self.add_deployment(
                    Deployment("production", start, start + duration, "failure", head_sha, vname)
                )
                wait = self.uniform(6, 20) if auto else self.uniform(15, 50)
                start = start + duration + int(wait * MINUTE)
                duration = int(self.lognormal((5 if auto else 16) * MINUTE, 0.35))
            finish = start + duration
            if finish >= self.end:
                break
            d = self.add_deployment(Deployment("production", start, finish, "success", head_sha, vname))
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
            outcome = remediate(self, d, auto, plant, previous_version, previous_sha, version)
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


    def simulate_development(self) -> None:
        """CI deploys main to development after every change reaches it (a failed run is re-run)."""
        order = sorted(range(len(self.changes)), key=lambda i: (self.changes[i].available, i))
        for i in order:
            c = self.changes[i]
            start = c.available + int(self.uniform(1, 3) * MINUTE)
            finish = start + int(self.lognormal(6 * MINUTE, 0.3))
            if self.chance(0.04):
                self.add_deployment(Deployment("development", start, finish, "failure", c.sha))
                start = finish + int(self.uniform(5, 30) * MINUTE)
                finish = start + int(self.lognormal(6 * MINUTE, 0.3))
            self.add_deployment(Deployment("development", start, finish, "success", c.sha))

    # -- planted data-quality signals ------------------------------------------------------------------------

    def plant_upstream_incident(self) -> None:
        """An openSenseMap outage during the release freeze: no deployment within 7 days, so none is blamed."""
        for a, _b in self.cal.freezes:
            opened = a + 10 * DAY + 9 * HOUR + 40 * MINUTE  # 30 December, 09:40 UTC
            if self.start + WEEK <= a and opened + DAY < self.end:
                resolved = opened + int(self.lognormal(3 * HOUR, 0.3))
                self.incidents.append(Incident(opened, resolved, None, "sev2"))
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
        return build_frames(self)

