"""``hivepulse store``: what a store holds (``info``), its schema (``migrate``), its events as files (``export``).

- ``hivepulse store info --store URL|PATH [--format json]``: schema version, rows per repository, last pulls;
- ``hivepulse store migrate --store URL|PATH``: upgrade an older store now (any command also does it);
- ``hivepulse store export --store URL|PATH --out DIR [--repository OWNER/REPO ...]``: canonical
  ``deployments.csv``, ``changes.csv``, ``incidents.csv`` (``hivepulse metrics --events DIR`` gives the
  metrics of ``--store``). Rules: ``docs/store.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from hivepulse.errors import InputError
from hivepulse.store import SCHEMA_VERSION, export_events, open_store, store_info
from hivepulse.textsafe import terminal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("store", help="inspect, migrate or export the event store",
                                   description="The event store filled by hivepulse pull (docs/store.md).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    info = actions.add_parser("info", help="schema version, rows per repository, last pulls")
    info.add_argument("--store", metavar="URL|PATH", default=None, help="default: data/store/hivepulse.db")
    info.add_argument("--format", choices=("table", "json"), default="table")
    info.set_defaults(func=run_info)

    migrate = actions.add_parser("migrate", help="upgrade an older store to this hivepulse's schema")
    migrate.add_argument("--store", metavar="URL|PATH", default=None, help="default: data/store/hivepulse.db")
    migrate.set_defaults(func=run_migrate)

    export = actions.add_parser("export", help="write the store's events as event files",
                                description="Write deployments.csv, changes.csv and incidents.csv (validated, "
                                "atomic) from the store; metrics --events on them equal metrics --store.")
    export.add_argument("--store", metavar="URL|PATH", default=None, help="default: data/store/hivepulse.db")
    export.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    export.add_argument("--repository", action="append", default=None, metavar="OWNER/REPO",
                        help="only this repository (repeatable; default: the whole store)")
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_info(args: argparse.Namespace) -> int:
    info = store_info(args.store)
    if args.format == "json":
        sys.stdout.write(json.dumps({"store": info.location, "schema_version": info.schema_version,
                                     "scopes": info.repositories, "pulls": info.pulls}, indent=2) + "\n")
        return 0
    lines = [f"store {info.location} (schema version {info.schema_version})"]
    for scope, counts in info.repositories.items():
        parts = ", ".join(f"{counts.get(k, 0)} {k.replace('_', ' ')}"
                          for k in ("deployments", "changes", "incidents", "pull_requests"))
        lines.append(f"  {scope}: {parts}")
    if not info.repositories:
        lines.append("  (no events yet: hivepulse pull)")
    for p in info.pulls:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(p["finished_at"] or 0) / 1e9))  # type: ignore[call-overload]
        lines.append(f"  pull {when}: {p['command']}: {p['new']} new, {p['updated']} updated, "
                     f"{p['unchanged']} unchanged, {p['removed']} removed; {p['api_calls']} API calls, "
                     f"{p['not_modified']} answered 304")
    sys.stdout.write("\n".join(terminal(line) for line in lines) + "\n")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    with open_store(args.store, must_exist=True) as store:
        sys.stdout.write(f"store {store.location.display} is at schema version {SCHEMA_VERSION}\n")
    return 0


def run_export(args: argparse.Namespace) -> int:
    if not str(args.out).strip():
        raise InputError("empty --out", expected="an output directory")
    out, events = export_events(args.store, args.out, repository=args.repository)
    deployed = int(events.changes["deployment_id"].notna().sum())
    sys.stdout.write(f"wrote {len(events.deployments)} deployments, {len(events.changes)} changes ({deployed} "
                     f"deployed) and {len(events.incidents)} incidents to {out}\n")
    return 0
