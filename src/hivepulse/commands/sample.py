"""``hivepulse sample``: write the bundled HiveBox team history (see ``docs/sample.md``).

``hivepulse sample --out DIR [--seed 42] [--weeks 26] [--end 2026-05-25]`` writes ``deployments.csv``,
``changes.csv`` and ``incidents.csv`` into ``DIR``; the same arguments always give byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from hivepulse.errors import InputError
from hivepulse.sources.sample import DEFAULT_END, DEFAULT_SEED, DEFAULT_WEEKS, parse_end, write_sample
from hivepulse.textsafe import terminal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="generate the deterministic sample history of a HiveBox team",
        description="Write a deterministic, realistic history of a HiveBox team (development, staging, "
        "production; pull requests, failures, rollbacks, hotfixes, incidents) as event files. "
        "The window is the WEEKS weeks before 00:00 UTC of --end. Story and planted signals: docs/sample.md.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--weeks",
        type=int,
        default=DEFAULT_WEEKS,
        help=f"length of the history in weeks (default: {DEFAULT_WEEKS})",
    )
    parser.add_argument(
        "--end",
        default=DEFAULT_END.isoformat(),
        metavar="DATE",
        help=f"end of the history, exclusive, 00:00 UTC (default: {DEFAULT_END.isoformat()}, a Monday)",
    )
    parser.set_defaults(func=run)


EARLIEST_END, LATEST_END = date(1900, 1, 1), date(2200, 1, 1)
"""Range of --end (the history's timestamps must fit pandas' nanosecond range)."""


def run(args: argparse.Namespace) -> int:
    end = parse_end(args.end)
    if not EARLIEST_END <= end <= LATEST_END:
        raise InputError("invalid --end", value=args.end, expected="a date YYYY-MM-DD from 1900-01-01 to 2200-01-01")
    if not str(args.out).strip():
        raise InputError("empty --out", expected="an output directory")
    from hivepulse.fsio import check_output_dir

    check_output_dir(args.out)  # before generating anything
    events, info = write_sample(args.out, args.seed, weeks=args.weeks, end=end)
    deps = events.deployments
    counts = deps["environment"].value_counts()
    per_env = ", ".join(
        f"{env} {int(counts.get(env, 0))}" for env in ("development", "staging", "production")
    )
    sys.stdout.write(
        f"wrote {terminal(str(args.out))}: [{info.since:%Y-%m-%d}, {info.until:%Y-%m-%d}) seed {info.seed}; "
        f"deployments: {per_env}; changes {len(events.changes)}; incidents {len(events.incidents)}\n"
    )
    return 0
