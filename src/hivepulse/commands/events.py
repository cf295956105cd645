"""``hivepulse events export``: write normalized event files from a git clone or from event files.

``hivepulse events export --git PATH --out DIR [git options]`` reads a clone with
:func:`hivepulse.sources.git.read_git` (rules: ``docs/git-source.md``; flags: :mod:`hivepulse.commands.gitflags`);
``hivepulse events export --events DIR --out DIR2 [--assume-utc]`` re-reads event files (CSV/JSON/JSONL) and
writes them in the canonical form. Either way the output is ``deployments.csv``, ``changes.csv`` and
``incidents.csv`` (:func:`hivepulse.sources.files.write_events`: validated, written atomically, nothing
half-written), and ``hivepulse metrics --events DIR`` on them gives the same metrics as on the source.
"""

from __future__ import annotations

import argparse
import sys

from hivepulse.commands.sourceflags import add_source_arguments, check_one_source, load_events
from hivepulse.errors import InputError
from hivepulse.textsafe import terminal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_source_arguments(export, events_help="a directory of event files to normalize")
    export.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_export(args: argparse.Namespace) -> int:
    check_one_source(args, "--git PATH or --events DIR")
    from hivepulse.fsio import check_output_dir

    if not str(args.out).strip():
        raise InputError("empty --out", expected="an output directory")
    check_output_dir(args.out)  # before reading the source
    events = load_events(args)
    from hivepulse.sources.files import write_events

    out = write_events(events, args.out)
    deployed = int(events.changes["deployment_id"].notna().sum())
    sys.stdout.write(
        f"wrote {len(events.deployments)} deployments, {len(events.changes)} changes ({deployed} deployed) "
        f"and {len(events.incidents)} incidents to {terminal(str(out))}\n"
    )
    for note in events.notes:  # notes carry text from the data (tag names, notes.txt): no raw control characters
        sys.stderr.write(f"note: {terminal(note)}\n")
    return 0
