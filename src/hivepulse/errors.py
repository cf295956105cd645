"""Errors users see. Each maps to an exit code and a one-line message (no traceback).

Exit codes: 2 = bad input (files, flags, data), 3 = a source could not be read (git, HTTP),
4 = a service failed (server, cache, notebook execution), 5 = no data (a retro window without any
deployment, unless allowed).
"""

from __future__ import annotations


class HivepulseError(Exception):
    """Base class: ``str(err)`` is the one-line message printed to stderr."""

    exit_code = 1


class InputError(HivepulseError):
    """Invalid user input: a file, a line, a column, a value, and what was expected."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.value = value
        self.expected = expected
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = self.reason
        if self.value is not None:
            text += f": got {_short(self.value)!r}"
        if self.expected:
            text += f"; expected {self.expected}"
        prefix = ", ".join(where)
        return f"{prefix}: {text}" if prefix else text


class SourceError(HivepulseError):
    """A source (git repository, HTTP API) could not be read."""

    exit_code = 3


class ServiceError(HivepulseError):
    """A service or a run failed (server start, cache, notebook cell)."""

    exit_code = 4


class NoDataError(HivepulseError):
    """Nothing to measure: a retro window without any deployment of its environment (``--allow-empty``)."""

    exit_code = 5


def _short(value: object, limit: int = 60) -> str:
    from hivepulse.textsafe import short

    return short(value, limit)
