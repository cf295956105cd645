"""Text from data made safe for where it goes: terminals, CSV cells and one-line messages.

Data (notes, environment names, commit subjects, upstream bodies) may hold anything. HTML and Markdown are
escaped by the report templates (autoescape); this module covers the other sinks:

- :func:`terminal` removes control characters (ANSI/OSC escape sequences, bells, carriage returns) so text
  printed to a terminal cannot move the cursor, change the title or hide a line.
- :func:`csv_cell` neutralises spreadsheet formulas (the OWASP rule: a cell starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return is prefixed with ``'``).
- :func:`short` gives a bounded one-line preview of any value without converting a huge value to text first.
"""

from __future__ import annotations

import re
import reprlib

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def terminal(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` without escape sequences and control characters (bidi overrides included); newlines become
    spaces unless ``keep_newlines``."""
    out = _ANSI.sub("", text)
    if not keep_newlines:
        out = out.replace("\n", " ")
    return _CONTROL.sub("", out)


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not evaluate: strings starting with a formula character get a
    leading ``'``; other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_REPR = reprlib.Repr()
_REPR.maxstring = 200
_REPR.maxother = 200
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3


def short(value: object, limit: int = 60) -> str:
    """A one-line preview of ``value`` of at most ``limit`` characters, computed without turning all of a
    huge or deeply nested value into text (strings are cut before escaping)."""
    if isinstance(value, str):
        text = value[: limit * 4]
    elif isinstance(value, bytes):
        text = value[: limit * 4].decode("utf-8", "replace")
    elif isinstance(value, int | float | bool) or value is None:
        big = isinstance(value, int) and value.bit_length() >= 256
        text = f"<{value.bit_length()}-bit integer>" if big else str(value)  # type: ignore[union-attr]
    else:
        try:
            text = _REPR.repr(value)
        except Exception:  # e.g. a nested integer too large to print
            text = f"<{type(value).__name__}>"
    text = terminal(text.replace("\n", "\\n"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["FORMULA_PREFIXES", "csv_cell", "short", "terminal"]
