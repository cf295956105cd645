"""Commit subjects of the sample's changes (``changes.title``): Conventional Commits lines about a HiveBox service.

Chosen from fixed lists by the change's SHA, not by the simulation's random generator, so adding titles moves
no other value of the sample. No person is named anywhere.
"""

from __future__ import annotations

SUBJECTS: dict[str, tuple[str, ...]] = {
    "feat": (
        "feat(api): add a status field to /temperature",
        "feat(cache): keep openSenseMap readings in Valkey for five minutes",
        "feat(store): write readings to the object store every five minutes",
        "feat(metrics): export request latency histograms on /metrics",
        "feat(api): /readyz reports a stale cache as not ready",
        "feat(sensors): average readings of the configured senseBoxes only",
        "feat(helm): make the cache TTL configurable",
        "feat(api): return the reading age with every temperature",
    ),
    "fix": (
        "fix(api): handle senseBoxes without a temperature sensor",
        "fix(cache): do not cache upstream errors",
        "fix(store): retry uploads after a timeout",
        "fix(api): /version returns the deployed tag",
        "fix(sensors): ignore readings older than one hour",
        "fix(readyz): check the cache connection with a timeout",
        "fix(metrics): count failed upstream calls once",
    ),
    "chore": (
        "chore(deps): bump httpx",
        "chore(deps): bump fastapi",
        "chore: tidy the Makefile",
        "chore(release): prepare the next version",
    ),
    "refactor": (
        "refactor(api): one upstream client per process",
        "refactor(cache): move key building into one function",
        "refactor(sensors): split parsing from averaging",
    ),
    "docs": (
        "docs: how to run the stack locally",
        "docs(api): document the status field",
        "docs: runbook for a stale cache",
    ),
    "test": (
        "test(api): cover a senseBox without readings",
        "test(cache): expiry at the TTL boundary",
        "test: end-to-end check of /temperature against the replay server",
    ),
    "ci": (
        "ci: run the linters before the tests",
        "ci: cache the pip downloads",
        "ci: scan the image before pushing it",
    ),
    "perf": (
        "perf(api): reuse the HTTP connection to openSenseMap",
        "perf(cache): fetch all senseBoxes in one request",
    ),
    "build": (
        "build: pin the base image digest",
        "build: multi-stage Dockerfile without build tools",
    ),
    "revert": (
        'revert: "feat(cache): keep openSenseMap readings in Valkey for five minutes"',
        'revert: "fix(store): retry uploads after a timeout"',
    ),
}


def title(change_type: str, sha: str) -> str:
    """The subject of a change of ``change_type`` (its bare type), picked by ``sha`` (hex)."""
    options = SUBJECTS.get(change_type.rstrip("!"), (f"{change_type}: update the service",))
    return options[int(sha[:8], 16) % len(options)]


__all__ = ["SUBJECTS", "title"]
