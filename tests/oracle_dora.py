"""A deliberately naive second implementation of the DORA rules of ``docs/metrics.md`` (test oracle).

Written from the documentation only, not from ``hivepulse.metrics.dora``: plain loops over lists of dicts,
``datetime``/``zoneinfo``/``statistics`` and ``numpy.percentile`` (linear interpolation) for p75/p90. It is
slow (quadratic in places) and meant for small event sets and the bundled sample.

``oracle(events, since, until, config)`` returns a plain dict with every point value the engine reports
(no confidence intervals): see :func:`oracle` for the keys. Section numbers refer to ``docs/metrics.md``.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

HOUR = timedelta(hours=1)


# ------------------------------------------------------------------------------------------ plain rows


def _value(v: Any) -> Any:
    """A pandas cell as a plain Python value: None for missing, datetime (UTC) for timestamps."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").to_pydatetime()
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    return v


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


# ------------------------------------------------------------------------------------------ tiers


def _df_tier(deployments: int, window_days: float) -> str:
    # "at least one per N days" holds when deployments * N >= window_days (section 3)
    for tier, n_days in (("elite", 1), ("high", 7), ("medium", 30)):
        if deployments * n_days >= window_days:
            return tier
    return "low"


def _below_tier(value: float | None, elite: float, high: float, medium: float) -> str | None:
    if value is None:
        return None
    if value < elite:
        return "elite"
    if value < high:
        return "high"
    if value < medium:
        return "medium"
    return "low"


def _cfr_tier(value: float | None) -> str | None:
    if value is None:
        return None
    if value <= 0.05:
        return "elite"
    if value <= 0.10:
        return "high"
    if value <= 0.15:
        return "medium"
    return "low"


# ------------------------------------------------------------------------------------------ failures


def _sort_key(d: dict) -> tuple:
    return (d["finished_at"], d["deployment_id"])


def _attributed(incident: dict, deployments: list[dict], config: Any) -> str | None:
    """Section 5: the deployment an incident without deployment_id is attributed to (or None)."""
    env = (
        incident["environment"]
        if incident["environment"] is not None
        else config.default_incident_environment
    )
    best = None
    for d in deployments:
        if d["environment"] != env or d["status"] != "success":
            continue
        if not d["finished_at"] < incident["opened_at"]:
            continue
        if incident["opened_at"] - d["finished_at"] > config.incident_max_gap.to_pytimedelta():
            continue
        if best is None or _sort_key(d) > _sort_key(best):
            best = d
    return None if best is None else best["deployment_id"]


def _failure_reasons(deployments: list[dict], incidents: list[dict], config: Any) -> dict[str, list[str]]:
    """Section 5: reasons per deployment id of the configured environment (empty list = not failed)."""
    env = config.environment
    mine = [d for d in deployments if d["environment"] == env]
    reasons: dict[str, set[str]] = {d["deployment_id"]: set() for d in mine}
    for d in mine:
        if d["status"] == "failure":
            reasons[d["deployment_id"]].add("status")
    for inc in incidents:
        target = inc["deployment_id"]
        if target is None:
            target = _attributed(inc, deployments, config)
        if target in reasons:
            reasons[target].add("incident")
    for other in deployments:  # any status, any environment
        if other["rollback_of"] in reasons:
            reasons[other["rollback_of"]].add("rollback")
    for u in mine:
        if u["kind"] != "unplanned" or u["status"] != "success":
            continue
        latest = None
        for d in mine:
            if d["kind"] == "planned" and d["status"] == "success" and d["finished_at"] < u["finished_at"]:
                if latest is None or _sort_key(d) > _sort_key(latest):
                    latest = d
        if latest is not None:
            reasons[latest["deployment_id"]].add("unplanned_fix")
    return {k: sorted(v) for k, v in reasons.items()}


def _linked_incidents(dep_id: str, incidents: list[dict], deployments: list[dict], config: Any) -> list[dict]:
    out = []
    for inc in incidents:
        target = inc["deployment_id"]
        if target is None:
            target = _attributed(inc, deployments, config)
        if target == dep_id:
            out.append(inc)
    return out


# ------------------------------------------------------------------------------------------ oracle


def _weeks(since: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Monday 00:00 local weeks [start, end) intersecting [since, until), as UTC datetimes."""
    local_day = since.astimezone(tz).date()
    monday = local_day - timedelta(days=local_day.weekday())
    weeks = []
    while True:
        start = datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(UTC)
        nxt = monday + timedelta(days=7)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
        if start >= until:
            break
        if end > since:
            weeks.append((start, end))
        monday = nxt
    return weeks


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(sorted(values), q, method="linear"))


def oracle(events: Any, since: pd.Timestamp, until: pd.Timestamp, config: Any) -> dict[str, Any]:
    """All point values of the DORA report of ``config.environment`` over ``[since, until)``.

    ``events`` is a ``hivepulse.model.EventSet`` (only its three tables are read), ``config`` any object
    with the attributes of ``MetricsConfig``.
    """
    since_dt = pd.Timestamp(since).tz_convert("UTC").to_pydatetime()
    until_dt = pd.Timestamp(until).tz_convert("UTC").to_pydatetime()
    window_days = (until_dt - since_dt) / timedelta(days=1)
    tz = ZoneInfo(config.tz)
    env = config.environment

    deployments = _rows(events.deployments)
    for d in deployments:
        d["kind"] = d["kind"] or "planned"
        d["first_deployment"] = bool(d["first_deployment"]) if d["first_deployment"] is not None else False
    changes = _rows(events.changes)
    incidents = _rows(events.incidents)
    by_id = {d["deployment_id"]: d for d in deployments}

    def in_window(d: dict) -> bool:
        return d["environment"] == env and since_dt <= d["finished_at"] < until_dt

    denominator = sorted((d for d in deployments if in_window(d)), key=_sort_key)
    counted = [d for d in denominator if d["status"] == "success"]
    counted_ids = {d["deployment_id"] for d in counted}

    # ---- section 3: deployment frequency
    n_dep = len(counted)
    local_days = {d["finished_at"].astimezone(tz).date() for d in counted}
    weeks = _weeks(since_dt, until_dt, tz)
    days_per_week = []
    weekly = []
    for start, end in weeks:
        days_in_week: set[date] = set()
        deployments_in_week = 0
        for d in counted:
            if start <= d["finished_at"] < end:
                days_in_week.add(d["finished_at"].astimezone(tz).date())
                deployments_in_week += 1
        days_per_week.append(len(days_in_week))
        weekly.append((start.astimezone(tz).date().isoformat(), deployments_in_week, len(days_in_week)))
    deployment_frequency = {
        "value": n_dep / window_days * 7,
        "n": n_dep,
        "deployments": n_dep,
        "deployment_days": len(local_days),
        "per_day": n_dep / window_days,
        "weeks": len(weeks),
        "median_deployment_days_per_week": float(statistics.median(days_per_week)),
        "tier": _df_tier(n_dep, window_days),
        "weekly": weekly,
    }

    # ---- section 4: lead time
    quality = {
        "negative_lead_times": 0,
        "missing_commit_times": 0,
        "first_deployment_changes_excluded": 0,
        "undeployed_changes": 0,
        "changes_on_failed_deployments": 0,
        "deployments_without_changes": 0,
        "unattributed_incidents": 0,
        "negative_recovery_times": 0,
    }
    lead_rows = []
    for c in changes:
        if c["deployment_id"] is None:
            if c["committed_at"] is not None and c["committed_at"] < until_dt:
                quality["undeployed_changes"] += 1
            continue
        d = by_id.get(c["deployment_id"])
        if d is None or not in_window(d):
            continue
        if d["status"] == "failure":
            quality["changes_on_failed_deployments"] += 1
            continue
        if d["first_deployment"] and not config.include_first_deployment:
            quality["first_deployment_changes_excluded"] += 1
            continue
        if c["committed_at"] is None:
            quality["missing_commit_times"] += 1
            continue
        lead = _hours(d["finished_at"] - c["committed_at"])
        if lead < 0:
            quality["negative_lead_times"] += 1
            continue

        def stage(end: datetime | None, start: datetime | None) -> float:
            if end is None or start is None or end < start:
                return math.nan
            return _hours(end - start)

        lead_rows.append(
            {
                "change_id": c["change_id"],
                "deployment_id": d["deployment_id"],
                "lead_time_hours": lead,
                "coding_hours": stage(c.get("pr_opened_at"), c["committed_at"]),
                "pickup_hours": stage(c.get("first_review_at"), c.get("pr_opened_at")),
                "review_hours": stage(c.get("merged_at"), c.get("first_review_at")),
                "deploy_hours": stage(d["finished_at"], c.get("merged_at")),
            }
        )
    shipped = {c["deployment_id"] for c in changes if c["deployment_id"] is not None}
    quality["deployments_without_changes"] = sum(1 for d in counted if d["deployment_id"] not in shipped)
    leads = [r["lead_time_hours"] for r in lead_rows]
    median = float(statistics.median(leads)) if leads else None
    lead_time = {
        "value": median,
        "n": len(leads),
        "p75": _percentile(leads, 75),
        "p90": _percentile(leads, 90),
        "tier": _below_tier(median, 24, 168, 720),
        "rows": sorted(lead_rows, key=lambda r: r["change_id"]),
    }

    # ---- section 5/6: failures and change fail rate
    reasons = _failure_reasons(deployments, incidents, config)
    failed_in_window = [d for d in denominator if reasons[d["deployment_id"]]]
    by_reason = {r: 0 for r in ("incident", "rollback", "status", "unplanned_fix")}
    for d in failed_in_window:
        for r in reasons[d["deployment_id"]]:
            by_reason[r] += 1
    cfr_value = len(failed_in_window) / len(denominator) if denominator else None
    change_fail_rate = {
        "value": cfr_value,
        "n": len(denominator),
        "deployments": len(denominator),
        "failed": len(failed_in_window),
        "by_reason": by_reason,
        "tier": _cfr_tier(cfr_value),
        "failure_reasons": {d["deployment_id"]: ";".join(reasons[d["deployment_id"]]) for d in denominator},
    }

    for inc in incidents:
        if inc["deployment_id"] is not None:
            continue
        inc_env = (
            inc["environment"] if inc["environment"] is not None else config.default_incident_environment
        )
        if inc_env != env or not since_dt <= inc["opened_at"] < until_dt:
            continue
        if _attributed(inc, deployments, config) is None:
            quality["unattributed_incidents"] += 1

    # ---- section 7: recovery time
    mine = sorted((d for d in deployments if d["environment"] == env), key=_sort_key)
    recovered_hours = []
    unrecovered = []
    recoveries = {}
    for d in failed_in_window:
        linked = _linked_incidents(d["deployment_id"], incidents, deployments, config)
        incident_at = None
        if linked and all(i["resolved_at"] is not None for i in linked):
            incident_at = max(i["resolved_at"] for i in linked)
        deploy_at = next_good = None
        for nxt in mine:  # in (finished_at, deployment_id) order
            if nxt["finished_at"] > d["finished_at"] and nxt["status"] == "success":
                if not reasons[nxt["deployment_id"]]:
                    deploy_at, next_good = nxt["finished_at"], nxt["deployment_id"]
                    break
        candidates = [t for t in (incident_at, deploy_at) if t is not None]
        if not candidates:
            unrecovered.append(d["deployment_id"])
            recoveries[d["deployment_id"]] = ("unrecovered", None, None, incident_at, next_good)
            continue
        at = min(candidates)
        by = "incident" if at == incident_at else "deployment"
        hours = _hours(at - d["finished_at"])
        if hours < 0:
            quality["negative_recovery_times"] += 1
            recoveries[d["deployment_id"]] = ("negative", by, hours, incident_at, next_good)
            continue
        recovered_hours.append(hours)
        recoveries[d["deployment_id"]] = ("recovered", by, hours, incident_at, next_good)
    rec_median = float(statistics.median(recovered_hours)) if recovered_hours else None
    recovery_time = {
        "value": rec_median,
        "n": len(recovered_hours),
        "failed": len(failed_in_window),
        "unrecovered": unrecovered,
        "tier": _below_tier(rec_median, 1, 24, 168),
        "recoveries": recoveries,
    }

    # ---- section 8: rework rate
    unplanned = sum(1 for d in counted if d["kind"] == "unplanned")
    rework_rate = {
        "value": unplanned / n_dep if n_dep else None,
        "n": n_dep,
        "unplanned": unplanned,
        "deployments": n_dep,
        "tier": None,
    }

    metrics = {
        "deployment_frequency": deployment_frequency,
        "lead_time": lead_time,
        "change_fail_rate": change_fail_rate,
        "recovery_time": recovery_time,
        "rework_rate": rework_rate,
    }
    quality["small_samples"] = [name for name, m in metrics.items() if m["n"] < 5]
    return {**metrics, "data_quality": quality, "counted": sorted(counted_ids)}
