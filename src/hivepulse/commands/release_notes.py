"""``hivepulse release-notes``: the next CHANGELOG section from the Conventional Commits since the last tag.

``hivepulse release-notes [--repo DIR] [--version X.Y.Z|next] [--date YYYY-MM-DD] [--tag-regex RE]
[--changelog FILE] [--write]`` prints the section (``## [Unreleased]``, or ``## [X.Y.Z] - DATE`` with a version)
on stdout, or inserts it into the CHANGELOG with ``--write``; a summary line with the suggested next version goes
to stderr. Rules: ``docs/deploy.md``, "Release notes from commits". Exit codes: 0 written, printed or already
there; 2 bad input (a version, a date, a regex, a CHANGELOG that cannot be read or would lose a hand-written
section); 3 the repository cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from hivepulse.errors import InputError
from hivepulse.textsafe import terminal


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "release-notes",
        help="the next CHANGELOG section from the Conventional Commits since the last tag",
        description="Group the commits since the last release tag by Conventional Commits type (hivepulse's "
        "'what shipped'; merge commits left out, no author) and print the next CHANGELOG section, or insert it "
        "with --write. The suggested next version (semver) is printed on stderr. Rules: docs/deploy.md.",
    )
    parser.add_argument("--repo", default=".", metavar="DIR", help="git repository (default: .)")
    parser.add_argument("--version", metavar="X.Y.Z", help="version of the section: X.Y.Z, or 'next' for the "
                        "suggested one (default: an [Unreleased] section)")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="date of a version's section (default: today, UTC)")
    parser.add_argument("--tag-regex", metavar="REGEX", help="release tags (whole name; default: v1.2.3, 1.2.3 "
                        "and their -hotfix variants, as the git source's deployments)")
    parser.add_argument("--changelog", metavar="FILE", help="CHANGELOG to write (default: DIR/CHANGELOG.md)")
    parser.add_argument("--write", action="store_true", help="insert the section into the CHANGELOG (atomic; "
                        "a section already there for the version is left as it is)")
    parser.set_defaults(func=run)


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError("--date: not a date", value=text, expected="YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    from hivepulse.retro import releasenotes as rn

    wanted = None if args.version is None or args.version.strip() == "next" else rn.parse_version(args.version)
    day = _date(args.date)
    notes = rn.release_notes(args.repo, tag_regex=args.tag_regex)
    version = notes.suggested if args.version is not None and args.version.strip() == "next" else wanted
    lines = [*(f"note: {note}" for note in notes.notes), notes.summary()]
    if args.write:
        path = args.changelog or os.path.join(args.repo, "CHANGELOG.md")
        update = rn.update_changelog(path, notes, version, day)
        lines.append(rn.describe(update, terminal(str(path)), version))
    else:
        rn.check_version(notes, version)
        sys.stdout.write(rn.render_section(notes, version, day))
    for line in lines:  # after the checks: an error stays one line
        print(f"hivepulse release-notes: {line}", file=sys.stderr)
    return 0
