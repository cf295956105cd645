"""The "source (exactly one)" flag group of the commands that read events: ``--events DIR``, ``--git PATH``,
``--assume-utc`` and the git flags (:mod:`hivepulse.commands.gitflags`), and :func:`load_events`, which reads
the named source. Registering the flags imports neither numpy nor pandas; the source modules are imported
when a command runs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hivepulse.commands.gitflags import add_git_arguments, options_from_args
from hivepulse.errors import InputError

if TYPE_CHECKING:
    from hivepulse.model import EventSet


def add_source_arguments(parser: argparse.ArgumentParser, *, events_help: str) -> None:
    """Add ``--events``, ``--git``, ``--assume-utc`` (one group) and the git flags (another) to ``parser``."""
    src = parser.add_argument_group("source (exactly one)")
    src.add_argument("--events", metavar="DIR", help=events_help)
    src.add_argument("--git", metavar="PATH", help="a git clone (work tree or bare)")
    src.add_argument(
        "--assume-utc", action="store_true",
        help="read timestamps without UTC offset in event files (and a --deployments-file) as UTC",
    )  # fmt: skip
    add_git_arguments(parser)


def check_one_source(args: argparse.Namespace, usage: str) -> None:
    """Exactly one of ``--events`` and ``--git`` (``usage`` names them in the error)."""
    if bool(args.events) == bool(args.git):
        raise InputError(f"give exactly one source: {usage}")


def load_events(args: argparse.Namespace) -> EventSet:
    """Read the event set named by ``--events`` or ``--git`` (git flags validated before the repository is
    touched)."""
    if args.git:
        options = options_from_args(args)
        from hivepulse.sources.git import read_git

        return read_git(args.git, options)
    from hivepulse.sources.files import read_events

    return read_events(args.events, assume_utc=args.assume_utc)
