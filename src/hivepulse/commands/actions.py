"""``hivepulse actions sync --github OWNER/REPO``: the retro's open action items as GitHub issues.

One issue per open item of ``<output-dir>/ledger.json`` (label ``retro-action``, a hidden marker with the item
id), none again on a re-run, bodies edited when the evidence changes, and every issue's state (open/closed,
closed_at, assigned or not: never who) read back into the ledger for the next retro's follow-up. Token from
``GITHUB_TOKEN`` (or ``GH_TOKEN``), never printed, logged or written. Rules: ``docs/retro.md`` (Action items on
the board); flags: ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from hivepulse.errors import InputError

if TYPE_CHECKING:
    from hivepulse.retro.board import SyncReport
    from hivepulse.sources.github.client import CallStats

MAX_WAIT_MINUTES = 24 * 60
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "actions", help="the retro's action items on the team's board (GitHub issues)",
        description="Work with the action items of a retro workspace. Rules: docs/retro.md.")
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sync = sub.add_parser(
        "sync", help="one GitHub issue per open action item; read their state back into the ledger",
        description="Create one GitHub issue per open action item of the workspace's ledger (label retro-action, "
        "found again by a hidden marker: never twice), edit it when the evidence changes, and read back each "
        "issue's state (open/closed, closed_at, assigned or not) into the ledger for the next retro's "
        "follow-up. Token: GITHUB_TOKEN or GH_TOKEN (never printed or stored).")
    sync.add_argument("--github", required=True, metavar="OWNER/REPO", help="the repository whose issues are "
                      "the board")
    sync.add_argument("--api-url", default=None, metavar="URL", help="API root (GitHub Enterprise: "
                      "https://HOST/api/v3; default https://api.github.com)")
    sync.add_argument("--output-dir", default="retro", metavar="W",
                      help="the retro workspace holding ledger.json (default: retro)")
    sync.add_argument("--dry-run", action="store_true",
                      help="list the issues and print what would be created or edited; write nothing")
    sync.add_argument("--max-wait", type=float, default=15.0, metavar="MINUTES",
                      help="longest rate-limit wait before failing with the time to retry (default: 15)")
    sync.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="HTTP timeout (default: 30)")
    sync.add_argument("--retries", type=int, default=5, metavar="N",
                      help="retries of 5xx answers and connection errors (default: 5; an issue creation is "
                      "never repeated blindly)")
    sync.add_argument("--write-interval", type=float, default=1.0, metavar="SECONDS",
                      help="pause between two writes (default: 1, as GitHub asks for creating content)")
    sync.add_argument("--format", choices=("table", "json"), default="table", help="summary format")
    sync.add_argument("--no-progress", action="store_true", help="no progress bar")
    sync.add_argument("-v", "--verbose", action="store_true", help="log every request (method, path, status)")
    sync.set_defaults(func=run_sync)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _token() -> str:
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    raise InputError("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token that can write issues of the "
                     "repository", expected="a fine-grained token with Issues: read and write (or a classic one "
                     "with repo / public_repo)")


def _logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hivepulse: %(message)s"))
    logger = logging.getLogger("hivepulse.github")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False


def run_sync(args: argparse.Namespace) -> int:
    from hivepulse.retro.board import Outcome, SyncOptions, sync
    from hivepulse.sources.github.client import ClientOptions, GitHubClient
    from hivepulse.sources.github.readers import check_repository

    repo = check_repository(args.github)
    if not 0 < args.timeout <= 600:
        raise InputError("invalid --timeout", value=args.timeout, expected="seconds, more than 0 and at most 600")
    if not 0 <= args.retries <= 20:
        raise InputError("invalid --retries", value=args.retries, expected="a whole number from 0 to 20")
    if not 0 <= args.max_wait <= MAX_WAIT_MINUTES:
        raise InputError("invalid --max-wait", value=args.max_wait, expected=f"minutes from 0 to {MAX_WAIT_MINUTES}")
    if not 0 <= args.write_interval <= 60:
        raise InputError("invalid --write-interval", value=args.write_interval, expected="seconds from 0 to 60")
    workspace = args.output_dir
    if os.path.exists(workspace) and not os.path.isdir(workspace):
        raise InputError("output directory is a file", file=workspace, expected="the retro workspace directory")
    token = _token()
    _logging(args.verbose)
    options = ClientOptions(api_url=args.api_url or "https://api.github.com", token=token, timeout_s=args.timeout,
                            retries=args.retries, max_wait_s=args.max_wait * 60)
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="action items", unit="item", file=sys.stderr, leave=False)

    def step(outcome: Outcome) -> None:
        if bar is not None:
            bar.update(1)

    try:
        with GitHubClient(options) as client:
            report = sync(client, workspace, SyncOptions(repo, dry_run=args.dry_run,
                                                         write_interval_s=args.write_interval), progress=step)
            stats = client.stats
    finally:
        if bar is not None:
            bar.close()
    if args.format == "json":
        out = report.to_dict()
        out["api_calls"] = {"calls": stats.calls, "retries": stats.retries,
                            "rate_limit_waits": stats.rate_limit_waits, "quota_remaining": stats.quota_remaining,
                            "quota_limit": stats.quota_limit}
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return 0
    _print(report, stats)
    return 0


def _print(report: SyncReport, stats: CallStats) -> None:
    from hivepulse.textsafe import short, terminal

    head = "dry run: nothing written" if report.dry_run else f"ledger: {report.ledger}" + (
        " (updated)" if report.ledger_written else " (unchanged)")
    lines = [f"actions sync {report.repository}: {len(report.outcomes)} open action item(s); {head}"]
    for o in report.outcomes:
        where = o.link.ref if o.link else "(new)"
        state = f" [{o.link.text}]" if o.link else ""
        lines.append(f"  {o.action:<12} {where:<6} {short(o.title, 60)} ({short(o.item_id, 70)}){state}")
    if report.label_created:
        lines.append("created the label retro-action")
    linked = [o.link for o in report.outcomes if o.link is not None]
    if linked:
        closed = sum(1 for link in linked if link.closed)
        assigned = sum(1 for link in linked if not link.closed and link.assignees)
        lines.append(f"board: {len(linked) - closed} open ({assigned} assigned), {closed} closed")
    calls = f"API calls: {stats.calls} ({stats.retries} retried, {stats.rate_limit_waits} rate-limit waits)"
    if stats.quota_remaining is not None:
        reset = time.strftime("%H:%M UTC", time.gmtime(stats.quota_reset)) if stats.quota_reset else "?"
        calls += f"; quota left {stats.quota_remaining:,} of {stats.quota_limit or 0:,} (resets {reset})"
    lines.append(calls)
    lines += [f"note: {n}" for n in report.notes]
    sys.stdout.write("\n".join(terminal(line) for line in lines) + "\n")
