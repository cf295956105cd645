"""Reading the retro's config files (team notes, ``actions.yaml``, ``-f params.yaml``) into pydantic models.

Every file goes through :func:`hivepulse.fsio.load_yaml` (size, depth and alias limits, the line of every
key), and every problem is one :class:`~hivepulse.errors.InputError` (exit 2) naming the file, the line and
the field: a model's first validation error is turned into one by :func:`first_error`, with the message and
expectation its loader gives for that field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from hivepulse.errors import InputError
from hivepulse.fsio import MAX_CONFIG_BYTES, YamlDocument, load_yaml, read_bytes_limited

Loc = tuple[str | int, ...]
Describe = Callable[[Loc, str], tuple[str, str | None]]
"""``(loc, pydantic error type) -> (message, expected)`` for a validation error at ``loc``."""


def read_document(path: str | Path, *, what: str = "YAML file", invalid: str = "not valid YAML",
                  expected: str | None = None) -> YamlDocument:
    """The YAML document in ``path``: at most 1 MiB of UTF-8 (a leading BOM dropped), parsed by
    :func:`hivepulse.fsio.load_yaml`. A parse error is ``<invalid>: <reason>`` with its line; a value YAML
    cannot construct (``2026-13-01`` as a date) is ``bad value (...)`` with its line (``load_yaml``)."""
    where = str(path)
    data = read_bytes_limited(path, MAX_CONFIG_BYTES, what=what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=where,
                         expected=expected) from None
    try:
        return load_yaml(text, file=where)
    except InputError as err:
        if err.reason.startswith("invalid YAML"):
            reason = err.reason.removeprefix("invalid YAML").lstrip(": ")
            raise InputError(f"{invalid}: {reason}" if reason else invalid, file=where, line=err.line,
                             expected=expected) from None
        raise


def first_error(exc: ValidationError, doc: YamlDocument, describe: Describe, *, prefix: Loc = (),
                column: Callable[[Loc], str] | None = None) -> InputError:
    """The first error of ``exc`` as an InputError naming ``doc``'s file, the line of the field and the
    field (``column(loc)``, default the dotted path), with ``describe``'s message and expectation.

    ``prefix`` is where the validated object sits in the document (its lines are looked up at
    ``prefix + loc``)."""
    err = exc.errors()[0]
    loc: Loc = tuple(err.get("loc", ()))
    message, expected = describe(loc, err.get("type", ""))
    name = column(loc) if column is not None else ".".join(str(p) for p in loc) or None
    value = err.get("input") if loc and err.get("type") not in ("missing",) else None
    if isinstance(value, dict | list):
        value = None
    return InputError(message, file=doc.file, line=doc.line(*prefix, *loc), column=name, value=value,
                      expected=expected)


__all__ = ["Describe", "Loc", "first_error", "read_document"]
