"""The ``hivepulse`` command. Each subcommand lives in ``hivepulse.commands.<name>`` (``-`` as ``_``:
``release-notes`` in ``release_notes``) and registers itself.

A command module provides ``register(subparsers) -> None``; the parser it adds sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit code). Errors derived from
:class:`hivepulse.errors.HivepulseError` print one line to stderr and exit with their code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from hivepulse import __version__
from hivepulse.errors import HivepulseError
from hivepulse.redact import redact_text
from hivepulse.textsafe import terminal

# Order is the order of `hivepulse --help`.
COMMAND_MODULES = (
    "metrics",
    "events",
    "pull",
    "store",
    "sample",
    "retro",
    "actions",
    "release-notes",
    "profile",
    "doctor",
    "hivebox",
    "sensemap",
    "stack",
)


def _selected(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command modules to import: only the named command when there is one (each command then pays
    only for its own imports: ``hivepulse hivebox serve`` does not load pandas or scipy), else all of them
    (for ``--help`` and errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args if not a.startswith("-")), None)
    return (first,) if first in COMMAND_MODULES else COMMAND_MODULES


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is imported and registered."""
    parser = argparse.ArgumentParser(
        prog="hivepulse",
        description="DORA retros and HiveBox profiling: data-driven, blameless, measured.",
    )
    parser.add_argument("--version", action="version", version=f"hivepulse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _selected(argv) if argv is not None else COMMAND_MODULES:
        # Every listed command must import: a broken command is an error, never silently missing from --help.
        module = importlib.import_module(f"hivepulse.commands.{name.replace('-', '_')}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _terminate_as_interrupt()
    return run_func(args)


def _terminate_as_interrupt() -> None:
    """SIGTERM (e.g. ``kill``, a scheduler's timeout) unwinds like Ctrl-C, so every server a command started
    (replay server, caches, HiveBox) is stopped by its context manager and no partial output stays behind.
    Servers that install their own handlers (uvicorn) replace this one."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)


def run_func(args: argparse.Namespace) -> int:
    """Call ``args.func(args)`` with the error contract: a :class:`HivepulseError` prints one line
    ``hivepulse <command>: error: <message>`` and returns its exit code; an :class:`OSError` naming a file
    (a path that cannot be read or written) is bad input (exit 2); any other exception prints one line naming
    its type and exits 1 (``HIVEPULSE_DEBUG=1`` re-raises it with the traceback). Credentials inside URLs
    are redacted from every message."""
    command = getattr(args, "command", None) or "hivepulse"
    try:
        code = args.func(args)
    except HivepulseError as err:
        return error_line(command, str(err), err.exit_code)
    except KeyboardInterrupt:
        print("hivepulse: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # not a HivepulseError: still one line, never a traceback
        if os.environ.get("HIVEPULSE_DEBUG"):
            raise
        if isinstance(err, OSError) and err.filename is not None:
            return error_line(command, f"{err.filename}: {err.strerror or type(err).__name__}", 2)
        if isinstance(err, UnicodeDecodeError):
            return error_line(command, f"not UTF-8 text ({err.reason} at byte {err.start})", 2)
        return error_line(command, f"unexpected {type(err).__name__}: {err} "
                          "(a bug in hivepulse; HIVEPULSE_DEBUG=1 shows the traceback)", 1)
    return int(code or 0)


def error_line(command: str, message: str, code: int) -> int:
    """Print ``hivepulse <command>: error: <message>`` as one line (URL credentials redacted, undecodable
    bytes of paths shown as U+FFFD, control characters and escape sequences removed) and return ``code``."""
    text = terminal(" ".join(redact_text(str(message)).split("\n")))
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    print(f"hivepulse {command}: error: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
