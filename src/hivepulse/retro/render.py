"""Markdown from templates: the Jinja2 environment of the retro's records, with escaping that no text from data
gets around.

Every ``{{ expression }}`` of a Markdown template passes through :func:`md` (the environment's ``finalize``),
unless it is already :class:`Md` (the output of :func:`code`): text from data (notes, environment names,
catalog titles, finding texts, output paths) is printed as text, never as Markdown or HTML markup. The
rules (CommonMark with GitHub tables):

- control characters are removed and line breaks become spaces (:func:`hivepulse.textsafe.terminal`), so a
  value can never start a new block (a heading, a list, a table row, a code fence);
- ``\\``, backticks, ``*``, ``~`` and ``|`` are backslash-escaped everywhere (no code span, emphasis,
  strikethrough or table cell break); ``_`` where it could open or close emphasis (not inside a word);
- ``<`` before a letter, ``/``, ``!`` or ``?`` (an HTML tag, comment or autolink), ``]`` before ``(``, ``[``
  or ``:`` (a link or image) and ``!`` before ``[``;
- a leading ``#``, ``>``, list marker (``-``, ``+``, ``1.``, ``1)``) or ``=``.

Everything else is left as it is, so ordinary text (``lead time < 24 h``, ``change_fail_rate``, ``p=0.25``)
reads the same in the raw file.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jinja2

from hivepulse.textsafe import terminal

_ALWAYS = re.compile(r"([\\`*~|])")
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_LINK = re.compile(r"\](?=[(\[:])")
_IMAGE = re.compile(r"!(?=\[)")
_BLOCK = re.compile(r"^(\s*)(?:([#>=])|([+-])(?=[\s-]|$)|(\d{1,9})([.)])(?=\s|$))")


class Md(str):
    """Text that is already safe Markdown (printed as it is by the templates)."""


def md(value: object) -> str:
    """``value`` as Markdown text that renders as exactly that text (module docstring)."""
    if isinstance(value, Md):
        return value
    text = terminal("" if value is None else str(value))
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _TAG.sub(r"\\<", text)
    text = _LINK.sub(r"\\]", text)
    text = _IMAGE.sub(r"\\!", text)
    match = _BLOCK.match(text)
    if match:  # a value never starts a block: escape the marker (for "1." the delimiter)
        cut = match.start(5) if match.group(4) else len(match.group(1))
        text = f"{text[:cut]}\\{text[cut:]}"
    return text


def code(value: object) -> Md:
    """``value`` as a Markdown code span (shown verbatim, never markup): the fence is one backtick longer
    than the longest run of backticks in it, with a space inside when it starts or ends with one."""
    text = terminal("" if value is None else str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Md(f"{fence}{pad}{text}{pad}{fence}")


def _finalize(value: object) -> str:
    return md(value)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Markdown template environment (templates in ``hivepulse/retro/templates/``)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hivepulse.retro", "templates"),
        autoescape=False,  # Markdown: escaped by finalize=md (every expression), not by HTML autoescape
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["code"] = code
    env.filters["md"] = lambda v: Md(md(v))
    return env


def render(template: str, **context: object) -> str:
    """The Markdown template ``template`` rendered with ``context``."""
    return environment().get_template(template).render(**context)


__all__ = ["Md", "code", "environment", "md", "render"]
