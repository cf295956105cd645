"""The ``hivepulse`` command. Each subcommand lives in ``hivepulse.commands.<name>`` and registers itself.

A command module provides ``register(subparsers) -> None``; the parser it adds sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit code). Errors derived from
:class:`hivepulse.errors.HivepulseError` print one line to stderr and exit with their code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hivepulse import __version__
from hivepulse.errors import HivepulseError

# Order is the order of `hivepulse --help`.
COMMAND_MODULES = (
    "metrics",
    "events",
    "sample",
    "retro",
    "profile",
    "hivebox",
    "sensemap",
    "stack",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hivepulse",
        description="DORA retros and HiveBox profiling: data-driven, blameless, measured.",
    )
    parser.add_argument("--version", action="version", version=f"hivepulse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"hivepulse.commands.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"hivepulse.commands.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except HivepulseError as err:
        print(f"hivepulse {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("hivepulse: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
