"""What the team does when a production deployment breaks: roll back, hotfix or fix forward, with or without
an incident (``docs/sample.md``, "Failures")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hivepulse.sources.sample.calendar import HOUR, MINUTE
from hivepulse.sources.sample.records import Deployment, Incident, Outcome

if TYPE_CHECKING:
    from hivepulse.sources.sample.simulation import Simulation


def remediate(
    self: Simulation,
    d: int,
    auto: bool,
    plant: str | None,
    previous_version: str,
    previous_sha: str,
    version: tuple[int, int, int],
) -> Outcome:
    """Break production after deployment ``d``: rollback, hotfix or fix forward, with or without an incident.

    ``plant`` forces a still-open sev3 incident (the last-week plants). Returns when production is free.
    """
    dep = self.deployments[d]
    f = dep.finished
    if plant is not None:
        opened = f + int(self.lognormal(25 * MINUTE, 0.5))
        named = plant == "open-named"
        self.incidents.append(Incident(opened, None, d if named else None, "sev3"))
        self.planted_open.append(len(self.incidents) - 1)
        return Outcome(blocked_until=opened + 5 * MINUTE)
    choice = self.rng.random()
    if auto:
        action = "rollback" if choice < 0.6 else ("hotfix" if choice < 0.9 else "fixforward")
    else:
        action = "rollback" if choice < 0.35 else ("hotfix" if choice < 0.8 else "fixforward")
    has_incident = action == "fixforward" or self.chance(0.8 if action == "rollback" else 0.85)
    detect = f + max(2 * MINUTE, int(self.lognormal((12 if auto else 45) * MINUTE, 0.8)))
    named = self.chance(0.6)
    incident: Incident | None = None
    if has_incident:
        if action == "rollback":
            severity = "sev1" if self.chance(0.3) else "sev2"
        elif action == "hotfix":
            severity = "sev2" if self.chance(0.6) else "sev3"
        else:
            severity = "sev3"
        incident = Incident(detect, None, d if named else None, severity)
        self.incidents.append(incident)
    if action == "rollback":
        trigger = detect if incident else f + int(self.uniform(10, 60) * MINUTE)
        r_start = trigger + int(self.lognormal((4 if auto else 20) * MINUTE, 0.5))
        r_end = r_start + int(self.lognormal((3 if auto else 6) * MINUTE, 0.3))
        self.add_deployment(
            Deployment(
                "production", r_start, r_end, "success", previous_sha, previous_version, "unplanned", d
            )
        )
        if incident:
            incident.resolved = r_end + int(self.lognormal(15 * MINUTE, 0.6))
        # the team reverts the offending change on main; it ships with a later release
        self.new_change(self.cal.add_work(r_end, int(self.lognormal(1.5 * HOUR, 0.6))), "revert")
        return Outcome(r_end + 10 * MINUTE, version, previous_version, previous_sha)
    if action == "hotfix":
        trigger = detect if incident else f + int(self.uniform(30, 180) * MINUTE)
        committed = trigger + int(self.lognormal((30 if auto else 50) * MINUTE, 0.6))
        fix = self.new_change(committed, "fix" if self.chance(0.8) else "revert", urgent=True)
        c = self.changes[fix]
        fixed_version = (version[0], version[1], version[2] + 1)
        vname = "v{}.{}.{}".format(*fixed_version)
        s_start = c.available + int(self.uniform(5, 10) * MINUTE)
        s_end = s_start + int(self.lognormal((4 if auto else 7) * MINUTE, 0.3))
        self.add_deployment(Deployment("staging", s_start, s_end, "success", c.sha, vname))
        h_start = s_end + int(self.uniform(3, 10) * MINUTE)
        h_end = h_start + int(self.lognormal((5 if auto else 15) * MINUTE, 0.35))
        h = self.add_deployment(
            Deployment("production", h_start, h_end, "success", c.sha, vname, "unplanned")
        )
        c.deployment = h
        if incident:
            incident.resolved = h_end + int(self.lognormal(20 * MINUTE, 0.6))
        return Outcome(h_end + 10 * MINUTE, fixed_version, vname, c.sha)
    # fix forward: the fix goes through the normal flow, fast
    assert incident is not None
    incident.fix_change = self.new_change(
        self.cal.add_work(detect, int(self.lognormal(1.0 * HOUR, 0.6))), "fix"
    )
    return Outcome(detect + 5 * MINUTE)

# -- development -----------------------------------------------------------------------------------------
