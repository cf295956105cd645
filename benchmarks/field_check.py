"""Field check of the git source on a real clone (issue 11; results in docs/field-check.md).

Usage::

    .venv/bin/python benchmarks/field_check.py --repo PATH [--since YYYY-MM-DD --until YYYY-MM-DD] [--seed 0]
                                               [git-source flags: --tag-pattern, --path, --deploy-branch, ...]

Prints, as JSON:

- ``deployments`` found against the repository's release tags (tags whose name holds a final version number);
- every detected failure signal to read by hand: rollbacks (the two deployments and their commits), revert
  incidents (the revert's subject and its age after the deployment it marks failed) and unplanned deployments
  with the reason (hotfix tag name, hotfix branch merged, revert, fix-only follow-up);
- five random change sets against ``git rev-list --no-merges D --not E...`` (every earlier successful deployment
  of the environment; with ``--path``: ``-- PATH``), computed with bots, release tools and imported history
  included so that the comparison is pure graph arithmetic, plus how many commits of each set the default rules
  leave out;
- the metrics of the window with the default rules and with ``--include-bots --include-imported``;
- ingest time (``read_git`` in this process, after a warm-up) against ``git log --format=%H%x00%P%x00%ct HEAD``.

Subjects of commits are printed to read the history; no name or e-mail is read or printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from hivepulse.commands.gitflags import add_git_arguments, options_from_args
from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.sources.git import GitOptions, read_git
from hivepulse.sources.git.tagrules import classify


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def subject(repo: str, sha: str) -> str:
    return git(repo, "log", "-1", "--format=%s", sha).strip()


def timing(repo: str, options: GitOptions, rounds: int = 3) -> dict:
    read_git(repo, options)  # warm-up: imports and page cache
    ref, ours = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(["git", "-C", repo, "log", "--format=%H%x00%P%x00%ct", "HEAD"], stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
        ref.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read_git(repo, options)
        ours.append(time.perf_counter() - t0)
    g, r = statistics.median(ref), statistics.median(ours)
    return {"git_log_seconds": round(g, 3), "read_git_seconds": round(r, 3), "ratio": round(r / g, 2)}


def failures(repo: str, ev) -> dict:
    deps = ev.deployments.set_index("deployment_id")
    out: dict = {"rollbacks": [], "reverts": [], "unplanned": []}
    for d, row in deps[deps["rollback_of"].notna()].iterrows():
        prev = deps.loc[row["rollback_of"]]
        out["rollbacks"].append({"deployment": d, "rolls_back": row["rollback_of"], "commit": row["commit_sha"][:12],
                                 "previous_commit": prev["commit_sha"][:12], "subject": subject(repo, row["commit_sha"])})  # fmt: skip
    for _, inc in ev.incidents.iterrows():
        sha = str(inc["incident_id"]).split(":")[1].split("@")[0]
        failed = deps.loc[inc["deployment_id"]]
        age = (inc["opened_at"] - failed["finished_at"]) / pd.Timedelta(days=1)
        out["reverts"].append({"incident": inc["incident_id"], "failed": inc["deployment_id"],
                               "revert_subject": subject(repo, sha), "age_days": round(float(age), 2)})  # fmt: skip
    shipped = ev.changes.dropna(subset=["deployment_id"]).groupby("deployment_id")["change_type"].agg(list)
    for d, row in deps[deps["kind"] == "unplanned"].iterrows():
        if pd.notna(row["rollback_of"]):
            continue
        types = shipped.get(d, [])
        out["unplanned"].append({"deployment": d, "change_types": sorted({str(t) for t in types}),
                                 "changes": len(types)})  # fmt: skip
    return out


def change_sets(repo: str, options: GitOptions, samples: int, seed: int) -> list[dict]:
    """Random deployments: hivepulse's change set (bots, tools and imported history included) against rev-list."""
    full = read_git(repo, dataclasses.replace(options, include_bots=True, include_imported=True))
    default = read_git(repo, options)
    order = full.deployments.copy()
    order["key"] = order["finished_at"]
    order["position"] = 0
    for spec in options.deploy_branches:  # a deploy branch keeps its order along the branch (docs/git-source.md)
        name = spec.partition(":")[0]
        line = git(repo, "rev-list", "--first-parent", "--reverse", name).split()
        at = {f"{name}@{sha[:12]}": k for k, sha in enumerate(line)}
        mine = order["deployment_id"].isin(at)
        order.loc[mine, "position"] = order.loc[mine, "deployment_id"].map(at)
        ranked = order[mine].sort_values("position")
        order.loc[ranked.index, "key"] = ranked["finished_at"].cummax()
    order = order.sort_values(["key", "position", "deployment_id"], kind="mergesort").reset_index(drop=True)
    ch = full.changes.dropna(subset=["deployment_id"])
    got = ch.groupby("deployment_id")["change_id"].agg(set).to_dict()
    kept = default.changes.dropna(subset=["deployment_id"]).groupby("deployment_id")["change_id"].agg(set).to_dict()
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(1, len(order)), min(samples, len(order) - 1)))
    out = []
    for i in picked:
        d = order.loc[i]
        earlier = order.loc[: i - 1]
        earlier = earlier[(earlier["environment"] == d["environment"]) & (earlier["status"] == "success")]
        paths = ["--full-history", "--", *options.paths] if options.paths else []
        # git's own --not walk stops early on commit dates; the set difference is exact
        reach = set(git(repo, "rev-list", "--no-merges", d["commit_sha"], *paths).split())
        if len(earlier):  # the union of everything the earlier deployments reach, in one rev-list
            reach -= set(git(repo, "rev-list", "--no-merges", *earlier["commit_sha"].unique().tolist(), *paths).split())
        ids = {c.split("@")[0] for c in got.get(d["deployment_id"], set())}
        out.append({"deployment": d["deployment_id"], "rev_list": len(reach), "hivepulse": len(ids),
                    "identical": ids == reach, "left_out_by_default_rules": len(ids) - len(kept.get(d["deployment_id"], set()))})  # fmt: skip
    return out


def metrics(ev, since: str, until: str) -> dict:
    r = compute(ev, Window.parse(since, until), MetricsConfig(environment=str(ev.deployments["environment"].mode()[0])))
    return {"deployments": r.deployment_frequency["deployments"], "lead_time_median_h": r.lead_time["value"],
            "lead_time_n": r.lead_time["n"], "change_fail_rate": r.change_fail_rate["value"],
            "failed": r.change_fail_rate["failed"], "rework_rate": r.rework_rate["value"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--since", help="metrics window start (default: one year before --until)")
    parser.add_argument("--until", help="metrics window end (default: the day after the latest deployment)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assume-utc", action="store_true", help=argparse.SUPPRESS)
    add_git_arguments(parser)
    args = parser.parse_args(argv)
    options = options_from_args(args)
    repo = str(Path(args.repo))
    ev = read_git(repo, options)
    tags = git(repo, "tag").split()
    until = args.until or (ev.deployments["finished_at"].max().floor("D") + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    since = args.since or (pd.Timestamp(until) - pd.DateOffset(years=1)).strftime("%Y-%m-%d")
    everything = read_git(repo, dataclasses.replace(options, include_bots=True, include_imported=True))
    report = {
        "repository": repo,
        "commits": int(git(repo, "rev-list", "--all", "--count")),
        "tags": len(tags),
        "release_tags": sum(classify(t) == "final" for t in tags),
        "deployments": len(ev.deployments),
        "environments": ev.deployments["environment"].value_counts().to_dict(),
        "notes": ev.notes,
        "failures": failures(repo, ev),
        "change_sets": change_sets(repo, options, 5, args.seed),
        "window": [since, until],
        "metrics_default": metrics(ev, since, until),
        "metrics_bots_and_imported_included": metrics(everything, since, until),
        "timing": timing(repo, options),
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
