"""The records the sample's simulation works on (times are Unix epoch seconds) and the change-type mix."""

from __future__ import annotations

from dataclasses import dataclass

#: Conventional Commits types of ordinary changes and their probabilities (reverts and hotfix fixes are
#: created by the remediation of failed deployments).
CHANGE_TYPES = ("feat", "fix", "chore", "refactor", "docs", "test", "ci", "perf", "build")
CHANGE_TYPE_P = (0.30, 0.24, 0.14, 0.08, 0.07, 0.07, 0.05, 0.03, 0.02)
DIRECT_PUSH_TYPES = frozenset({"chore", "docs", "ci", "build"})


@dataclass
class Change:
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
class Deployment:
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
class Incident:
    opened: int
    resolved: int | None
    deployment: int | None
    severity: str
    fix_change: int | None = None  # resolved when this change reaches production


@dataclass
class Outcome:
    """What a remediation did: when production is free again, and the version it left running."""

    blocked_until: int
    version: tuple[int, int, int] | None = None
    prod_version: str = ""
    prod_sha: str = ""

