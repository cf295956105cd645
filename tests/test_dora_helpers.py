"""Builders for small hand-made event sets (imported by the test_dora_* modules; holds no tests)."""

from __future__ import annotations

import pandas as pd

from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.model import EventSet, event_set


def D(
    deployment_id,
    finished_at,
    status="success",
    *,
    env="production",
    kind="planned",
    rollback_of=None,
    first=False,
):
    """One deployment row."""
    return {
        "deployment_id": deployment_id,
        "environment": env,
        "finished_at": finished_at,
        "status": status,
        "kind": kind,
        "rollback_of": rollback_of,
        "first_deployment": first,
    }


def C(change_id, committed_at, deployment_id, **extra):
    """One change row; ``extra`` may hold pr_opened_at, first_review_at, merged_at, authored_at."""
    return {"change_id": change_id, "committed_at": committed_at, "deployment_id": deployment_id, **extra}


def I(incident_id, opened_at, resolved_at=None, *, deployment_id=None, env=None):  # noqa: E743
    """One incident row."""
    return {
        "incident_id": incident_id,
        "opened_at": opened_at,
        "resolved_at": resolved_at,
        "deployment_id": deployment_id,
        "environment": env,
    }


def _frame(rows, dt_cols):
    frame = pd.DataFrame(rows)
    for col in dt_cols:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    return frame


def build(deployments=(), changes=(), incidents=()) -> EventSet:
    """An EventSet from row dicts (ISO timestamps with Z)."""
    return event_set(
        _frame(list(deployments), ["finished_at"]) if deployments else None,
        _frame(list(changes), ["committed_at", "pr_opened_at", "first_review_at", "merged_at"])
        if changes
        else None,
        _frame(list(incidents), ["opened_at", "resolved_at"]) if incidents else None,
    )


def run(events: EventSet, since: str, until: str, **config):
    """compute() with a small bootstrap for speed unless n_boot is given."""
    config.setdefault("n_boot", 500)
    return compute(events, Window.parse(since, until), MetricsConfig(**config))
