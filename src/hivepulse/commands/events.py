"""``hivepulse events export``: write normalized event files from a git clone or from event files.

``hivepulse events export --git PATH --out DIR [git options]`` reads a clone with
:func:`hivepulse.sources.git.read_git` (rules: ``docs/git-source.md``);
``hivepulse events export --events DIR --out DIR2 [--assume-utc]`` re-reads event files (CSV/JSON/JSONL) and
writes them in the canonical form. Either way the output is ``deployments.csv``, ``changes.csv`` and
``incidents.csv`` (:func:`hivepulse.sources.files.write_events`: validated, written atomically, nothing
half-written), and ``hivepulse metrics --events DIR`` on them gives the same metrics as on the source.
"""

from __future__ import annotations

import argparse
import sys

from hivepulse.errors import InputError
from hivepulse.sources import git as git_source


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "events",
        help="export normalized event files (deployments, changes, incidents)",
        description="Work with event files. 'export' reads a git clone or event files and writes the "
        "canonical deployments.csv, changes.csv and incidents.csv.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write canonical event files from --git PATH or --events DIR",
        description="Read a git clone (--git) or event files (--events) and write deployments.csv, "
        "changes.csv and incidents.csv into --out. Git rules: docs/git-source.md.",
    )
    src = export.add_argument_group("source (exactly one)")
    src.add_argument("--git", metavar="PATH", help="a git clone (work tree or bare)")
    src.add_argument("--events", metavar="DIR", help="a directory of event files to normalize")
    src.add_argument(
        "--assume-utc", action="store_true", help="read offset-less timestamps in event files as UTC"
    )
    export.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    git_source.add_git_arguments(export)
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_export(args: argparse.Namespace) -> int:
    if bool(args.git) == bool(args.events):
        raise InputError("give exactly one source: --git PATH or --events DIR")
    from hivepulse.sources.files import check_output_dir, read_events, write_events

    if not str(args.out).strip():
        raise InputError("empty --out", expected="an output directory")
    check_output_dir(args.out)  # before reading the source
    if args.git:
        options = git_source.options_from_args(args)  # validate flags before touching the repository
        events = git_source.read_git(args.git, options)
    else:
        events = read_events(args.events, assume_utc=args.assume_utc)
    out = write_events(events, args.out)
    deployed = int(events.changes["deployment_id"].notna().sum())
    sys.stdout.write(
        f"wrote {len(events.deployments)} deployments, {len(events.changes)} changes ({deployed} deployed) "
        f"and {len(events.incidents)} incidents to {out}\n"
    )
    for note in events.notes:
        sys.stderr.write(f"note: {note}\n")
    return 0
