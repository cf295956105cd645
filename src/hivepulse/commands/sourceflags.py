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


def add_source_arguments(parser: argparse.ArgumentParser, *, events_help: str, with_store: bool = False) -> None:
    """Add ``--events``, ``--git``, ``--assume-utc`` (one group; with ``with_store`` also ``--store`` and
    ``--repository``) and the git flags (another group) to ``parser``."""
    src = parser.add_argument_group("source (exactly one)")
    src.add_argument("--events", metavar="DIR", help=events_help)
    src.add_argument("--git", metavar="PATH", help="a git clone (work tree or bare)")
    if with_store:
        src.add_argument("--store", metavar="URL|PATH", help="the event store (hivepulse pull; docs/store.md)")
        src.add_argument("--repository", action="append", metavar="OWNER/REPO",
                         help="with --store: only this repository (repeatable; default: the whole project)")
    src.add_argument(
        "--assume-utc", action="store_true",
        help="read timestamps without UTC offset in event files (and a --deployments-file) as UTC",
    )  # fmt: skip
    add_git_arguments(parser)


def check_one_source(args: argparse.Namespace, usage: str) -> None:
    """Exactly one of ``--events``, ``--git`` (and ``--store`` where registered); ``usage`` names them."""
    given = [bool(args.events), bool(args.git), getattr(args, "store", None) is not None]
    if sum(given) != 1:
        raise InputError(f"give exactly one source: {usage}")
    if getattr(args, "repository", None) and not given[2]:
        raise InputError("--repository needs --store")


def load_events(args: argparse.Namespace) -> EventSet:
    """Read the event set named by ``--events`` or ``--git`` (git flags validated before the repository is
    touched), or ``--store``."""
    if getattr(args, "store", None) is not None:
        from hivepulse.store import read_events as read_store

        return read_store(args.store, repository=args.repository)
    if args.git:
        options = options_from_args(args)
        from hivepulse.sources.git import read_git

        return read_git(args.git, options)
    from hivepulse.sources.files import read_events

    return read_events(args.events, assume_utc=args.assume_utc)
