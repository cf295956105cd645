"""API calls of a GitHub pull against the minimum possible, on a repository served locally.

Usage: ``.venv/bin/python benchmarks/pull_calls.py [--prs 5000] [--deployments 2000] [--incidents 50] [--runs 1]``

Builds a repository of ``--prs`` merged pull requests (squash, merge-commit and rebase merges; 5 % by a bot) and
``--deployments`` production deployments (tests/ghfake.py, the local GitHub API the tests use), pulls it into a
fresh embedded store, and counts the requests the server saw, by endpoint.

The minimum possible is every list the pull must read, at 100 items a page: the deployments list, each
deployment's statuses, the closed pull requests, the incident issues, and the commits of each comparison between
consecutive successful deployments (``ceil(n / 100)`` pages each, at least one). The issue's target is
``calls <= 1.1 x minimum + one call per pull request`` (the timeline read that gives its commits and reviews).
A second pull of the unchanged repository must make only conditional requests, answered 304.
Figures go to docs/performance.md, section "Pull: API calls".
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the local GitHub API of the tests

from ghfake import PLANTED_TOKEN, FakeGitHub, generate_repo  # noqa: E402

from hivepulse.project import RepositorySource  # noqa: E402
from hivepulse.pull.run import PullOptions, pull  # noqa: E402
from hivepulse.sources.github.client import ClientOptions  # noqa: E402
from hivepulse.store import open_store  # noqa: E402

KINDS = [("repository", r"^/repos/[^/]+/[^/?]+(\?|$)"), ("deployment list", r"/deployments(\?|$)"),
         ("statuses", r"/statuses"), ("pull list", r"/pulls(\?|$)"), ("timelines", r"/timeline"),
         ("issue list", r"/issues(\?|$)"), ("compare", r"/compare/")]


def kind(path: str) -> str:
    for name, pattern in KINDS:
        if re.search(pattern, path.replace("/repositories/4242", "/repos/hive-team/hivebox")):
            return name
    return "other"


def minimum(store_path: str, n_deployments: int, n_prs: int, n_issues: int) -> dict[str, int]:
    with open_store(store_path) as st:
        compare_pages = sum(max(1, math.ceil(int(n) / 100)) for (n,) in st.rows("SELECT total_commits FROM gh_compares"))
    return {"deployment list": math.ceil(n_deployments / 100), "statuses": n_deployments,
            "pull list": math.ceil(n_prs / 100), "issue list": max(1, math.ceil(n_issues / 100)),
            "compare": compare_pages}


def one_run(args: argparse.Namespace) -> dict[str, object]:
    repo = generate_repo(args.prs, args.deployments, seed=args.seed, n_incidents=args.incidents)
    people = sum(1 for p in repo.pulls if p.user_type != "Bot")
    with tempfile.TemporaryDirectory() as tmp, FakeGitHub(repo, quota=1_000_000) as gh:
        store = str(Path(tmp) / "s.db")
        opts = PullOptions(github=ClientOptions(api_url=gh.url, token=PLANTED_TOKEN))
        t0 = time.perf_counter()
        first = pull(store, repositories=[RepositorySource("hive-team/hivebox")], options=opts)
        seconds = time.perf_counter() - t0
        calls = Counter(kind(p) for p, _ in gh.requests)
        mins = minimum(store, args.deployments, args.prs, args.incidents)
        n = len(gh.requests)
        t1 = time.perf_counter()
        second = pull(store, repositories=[RepositorySource("hive-team/hivebox")], options=opts)
        second_s = time.perf_counter() - t1
        second_requests = gh.requests[n:]
    lists = sum(v for k, v in calls.items() if k != "timelines")
    floor = sum(mins.values())
    return {"calls": dict(calls), "minimum": mins, "total": sum(calls.values()), "list_calls": lists,
            "minimum_total": floor, "ratio": lists / floor, "timelines": calls["timelines"], "people_prs": people,
            "budget": 1.1 * floor + people, "seconds": seconds, "events": first.counts.new,
            "second_calls": len(second_requests), "second_304": sum(1 for _, s in second_requests if s == 304),
            "second_seconds": second_s, "second_unchanged": second.counts.unchanged}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prs", type=int, default=5000)
    parser.add_argument("--deployments", type=int, default=2000)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = [one_run(args) for _ in range(args.runs)]
    r = results[-1]
    print(f"machine: {platform.machine()} {platform.python_version()}; {args.prs} PRs, {args.deployments} "
          f"deployments, {args.incidents} incidents")
    for name, _ in KINDS:
        print(f"  {name:<16} {r['calls'].get(name, 0):>6}   minimum {r['minimum'].get(name, '-')}")
    print(f"list calls {r['list_calls']} / minimum {r['minimum_total']} = {r['ratio']:.3f}x (target <= 1.1x); "
          f"timelines {r['timelines']} for {r['people_prs']} pull requests by people")
    print(f"total {r['total']} calls <= budget {r['budget']:.0f} (1.1 x minimum + one per pull request): "
          f"{'yes' if r['total'] <= r['budget'] else 'NO'}")
    print(f"first pull: {statistics.median(x['seconds'] for x in results):.1f} s (median of {len(results)}), "
          f"{r['events']} events")
    print(f"second pull (unchanged): {r['second_calls']} calls, {r['second_304']} answered 304, "
          f"{statistics.median(x['second_seconds'] for x in results):.2f} s, {r['second_unchanged']} events unchanged")
    return 0 if r["total"] <= r["budget"] and r["second_calls"] == r["second_304"] else 1


if __name__ == "__main__":
    sys.exit(main())
