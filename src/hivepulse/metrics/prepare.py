"""Window-independent preparation of one environment's events for the DORA engine.

:func:`prepare` sorts the environment's deployments by ``(finished_at, deployment_id)``, decides for each one
whether and why it failed (docs/metrics.md section 5: status, incident, rollback, unplanned fix), finds its
recovery (section 7) and links every change and incident to its deployment, once; the per-window metrics
(:mod:`hivepulse.metrics.compute`) then only select rows. Vectorized: index look-ups, ``merge_asof`` and one
``groupby``; no Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hivepulse.metrics.config import MetricsConfig
from hivepulse.model import EventSet, check_integrity

FAILURE_REASONS = ("incident", "rollback", "status", "unplanned_fix")
"""Why a deployment counts as failed (sorted; joined with ';' in ``failure_reasons``)."""
HOUR = np.timedelta64(3600, "s")


@dataclass(frozen=True, eq=False)
class Prepared:
    """Window-independent annotation of one environment's deployments and the change/incident links."""

    config: MetricsConfig
    deps: pd.DataFrame  # env deployments sorted by (finished_at, deployment_id), annotated
    finished: np.ndarray  # datetime64[ns] of deps.finished_at
    success: np.ndarray
    failed: np.ndarray
    reasons: dict[str, np.ndarray]
    change_pos: np.ndarray  # per change: position in deps, -1 if none / other environment
    committed: np.ndarray  # datetime64[ns]
    changes: pd.DataFrame
    unattributed_opened: np.ndarray  # datetime64[ns] of env incidents matching no deployment
    source: str
    notes: tuple[str, ...]


def naive(series: pd.Series) -> np.ndarray:
    """tz-aware UTC series -> numpy datetime64[ns] (NaT kept)."""
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")


def as_bool(series: pd.Series) -> np.ndarray:
    """A nullable boolean series as a numpy bool array (missing = False)."""
    return series.fillna(False).to_numpy(dtype=bool)


def _joined(positions: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Per deployment position 0..n-1: the ``labels`` of the rows pointing at it (``positions``, -1 = none),
    sorted and joined with ``;``, or None (object array). The evidence behind a failure reason."""
    out = np.full(n, None, dtype=object)
    keep = positions >= 0
    if keep.any():
        frame = pd.DataFrame({"pos": positions[keep], "label": labels[keep].astype(str)})
        for position, group in frame.groupby("pos")["label"]:
            out[int(position)] = ";".join(sorted(set(group)))
    return out


def prepare(events: EventSet, config: MetricsConfig) -> Prepared:
    """The window-independent annotation of ``config.environment`` in ``events`` (module docstring)."""
    all_deps = events.deployments
    env_mask = (
        as_bool(all_deps["environment"] == config.environment) & all_deps["finished_at"].notna().to_numpy()
    )
    deps = all_deps.loc[env_mask].sort_values(["finished_at", "deployment_id"], kind="mergesort")
    deps = deps.reset_index(drop=True)
    n = len(deps)
    ids = pd.Index(deps["deployment_id"].astype(object))
    check_integrity(events)  # the model's rules (duplicate ids, time order, references), located by table and row
    finished = naive(deps["finished_at"])
    status = deps["status"].astype(object)
    success = as_bool(status == "success")
    kind = deps["kind"].fillna("planned").astype(object)
    unplanned = as_bool(kind == "unplanned")
    pos = np.arange(n)

    # status
    reasons: dict[str, np.ndarray] = {"status": as_bool(status == "failure")}

    # incidents: named, else attributed to the last successful deployment within the gap
    inc = events.incidents
    inc_env = inc["environment"].fillna(config.default_incident_environment).astype(object)
    named = inc["deployment_id"].notna().to_numpy()
    link_pos = np.full(len(inc), -1)
    if named.any():
        link_pos[named] = ids.get_indexer(inc.loc[named, "deployment_id"].astype(object))
    opened = naive(inc["opened_at"])
    unnamed = ~named & as_bool(inc_env == config.environment) & ~np.isnat(opened)
    good_success = pd.DataFrame({"t": finished[success], "pos": pos[success]})
    if unnamed.any():
        left = pd.DataFrame({"t": opened[unnamed], "row": np.flatnonzero(unnamed)}).sort_values("t")
        if len(good_success):
            hit = pd.merge_asof(
                left,
                good_success,
                on="t",
                direction="backward",
                allow_exact_matches=False,
                tolerance=pd.Timedelta(config.incident_max_gap),
            )
            link_pos[hit["row"].to_numpy()] = hit["pos"].fillna(-1).to_numpy(dtype=np.int64)
    linked = link_pos >= 0
    unattributed_opened = opened[unnamed & ~linked]
    has_incident = np.zeros(n, dtype=bool)
    has_incident[link_pos[linked]] = True
    reasons["incident"] = has_incident

    # rollbacks: any deployment (any environment, any status) naming it in rollback_of
    rolled_back = set(all_deps["rollback_of"].dropna().astype(object))
    reasons["rollback"] = deps["deployment_id"].astype(object).isin(rolled_back).to_numpy()
    rollers = all_deps.loc[all_deps["rollback_of"].notna(), ["rollback_of", "deployment_id"]].astype(object)
    rolled_back_by = _joined(ids.get_indexer(rollers["rollback_of"]), rollers["deployment_id"].to_numpy(), n)

    # unplanned fix: each successful unplanned deployment marks the latest successful planned one before it
    fixed = np.zeros(n, dtype=bool)
    fixes = success & unplanned
    planned_ok = success & ~unplanned
    fixed_by = np.full(n, None, dtype=object)
    if fixes.any() and planned_ok.any():
        hit = pd.merge_asof(
            pd.DataFrame({"t": finished[fixes], "fix": pos[fixes]}),
            pd.DataFrame({"t": finished[planned_ok], "pos": pos[planned_ok]}),
            on="t",
            direction="backward",
            allow_exact_matches=False,
        )
        found = hit["pos"].notna().to_numpy()
        targets = hit["pos"].to_numpy()[found].astype(np.int64)
        fixed[targets] = True
        fixed_by = _joined(targets, ids.to_numpy()[hit["fix"].to_numpy()[found]], n)
    reasons["unplanned_fix"] = fixed

    failed = np.zeros(n, dtype=bool)
    labels = np.full(n, "", dtype=object)
    for name in FAILURE_REASONS:
        mask = reasons[name]
        failed |= mask
        labels = np.where(mask, np.where(labels == "", name, labels + ";" + name), labels)

    # recovery of every failed deployment: earlier of incident resolution and next good deployment
    inc_res = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if linked.any():
        links = pd.DataFrame({"pos": link_pos[linked], "resolved": naive(inc["resolved_at"])[linked]})
        grouped = links.groupby("pos")["resolved"].agg(["size", "count", "max"])
        complete = grouped[grouped["size"] == grouped["count"]]
        inc_res[complete.index.to_numpy()] = complete["max"].to_numpy("datetime64[ns]")
    next_good = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    next_good_id = np.full(n, None, dtype=object)
    good = success & ~failed
    if failed.any() and good.any():
        hit = pd.merge_asof(
            pd.DataFrame({"t": finished[failed], "row": pos[failed]}),
            pd.DataFrame({"t": finished[good], "pos": pos[good], "good_t": finished[good]}),
            on="t",
            direction="forward",
            allow_exact_matches=False,
        )
        ok = hit["pos"].notna().to_numpy()
        rows = hit["row"].to_numpy()[ok]
        next_good[rows] = hit["good_t"].to_numpy("datetime64[ns]")[ok]
        next_good_id[rows] = (
            deps["deployment_id"].astype(object).to_numpy()[hit["pos"].to_numpy()[ok].astype(int)]
        )
    inc_res = np.where(failed, inc_res, np.datetime64("NaT"))
    recovered_at = np.where(
        np.isnat(inc_res), next_good, np.where(np.isnat(next_good), inc_res, np.minimum(inc_res, next_good))
    )
    missing: Any = None  # an object-array cell (numpy's stubs do not take None in np.where)
    recovered_by = np.where(
        np.isnat(recovered_at), missing, np.where(recovered_at == inc_res, "incident", "deployment")
    )
    recovery_hours = (recovered_at - finished) / HOUR
    rec_status = np.where(
        ~failed,
        missing,
        np.where(
            np.isnat(recovered_at), "unrecovered", np.where(recovery_hours < 0, "negative", "recovered")
        ),
    )

    incident_ids = _joined(link_pos[linked], inc["incident_id"].astype(object).to_numpy()[linked], n)
    deps = deps.assign(
        failed=failed,
        failure_reasons=labels,
        incident_ids=pd.array(np.where(failed, incident_ids, missing), dtype="string"),
        rolled_back_by=pd.array(np.where(failed, rolled_back_by, missing), dtype="string"),
        fixed_by=pd.array(np.where(failed, fixed_by, missing), dtype="string"),
        incident_resolved_at=pd.Series(inc_res).dt.tz_localize("UTC"),
        next_good_deployment_id=pd.array(next_good_id, dtype="string"),
        next_good_finished_at=pd.Series(np.where(failed, next_good, np.datetime64("NaT"))).dt.tz_localize(
            "UTC"
        ),
        recovered_at=pd.Series(recovered_at).dt.tz_localize("UTC"),
        recovered_by=pd.array(recovered_by, dtype="string"),
        recovery_hours=np.where(failed, recovery_hours, np.nan),
        recovery_status=pd.array(rec_status, dtype="string"),
    )

    # changes -> position of their deployment (-1: none, or another environment)
    changes = events.changes
    change_pos = ids.get_indexer(changes["deployment_id"].astype(object)) if n else np.full(len(changes), -1)
    return Prepared(
        config=config,
        deps=deps,
        finished=finished,
        success=success,
        failed=failed,
        reasons=reasons,
        change_pos=np.asarray(change_pos),
        committed=naive(changes["committed_at"]),
        changes=changes,
        unattributed_opened=unattributed_opened,
        source=events.source,
        notes=tuple(events.notes),
    )


__all__ = ["FAILURE_REASONS", "HOUR", "Prepared", "as_bool", "naive", "prepare"]
