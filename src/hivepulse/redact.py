"""Keep secrets out of what we print, log or write: credentials inside URLs.

Secrets (S3 keys, tokens, the password of ``VALKEY_URL=valkey://:pass@host:6379/0``) come from the environment
only. Wherever a URL or a free-form message is shown, it goes through :func:`redact_url` or
:func:`redact_text`, which replace the ``user:password@`` part of any ``scheme://user:password@host`` URL with
``***@``. Nothing else is changed (host, port, path, query stay readable).

The user information runs from after ``scheme://`` to the **last** ``@`` before the host, so a password that
itself contains ``@`` (``redis://u:p@ss@host``), ``?`` or ``#`` is hidden whole; it never contains ``/`` (a
``@`` after a ``/`` belongs to the path, as in ``https://registry.example/@scope/pkg``). The same holds for the
form a URL takes after a path normalisation collapsed its ``//`` (``https:/u:pw@host/x``, what
``pathlib.Path("https://u:pw@host/x")`` prints), so a URL given where a path was expected is redacted too.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme:// (or scheme:/ with a scheme of two or more characters, so "C:/a@b" is not taken for a URL), then the
# user information: the longest run without "/", whitespace, quotes or brackets that ends at an "@".
_USERINFO = re.compile(r"(?P<scheme>\b(?:[A-Za-z][A-Za-z0-9+.-]*://|[A-Za-z][A-Za-z0-9+.-]+:/(?!/)))"
                       r"(?P<userinfo>[^/\s'\"\[\]<>]*)@")


def redact_url(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` replaced by ``***@`` (``None`` stays ``None``).

    >>> redact_url("valkey://:hunter2@127.0.0.1:6379/0")
    'valkey://***@127.0.0.1:6379/0'
    """
    if url is None:
        return None
    return redact_text(str(url))


def redact_text(text: str) -> str:
    """Every URL with credentials inside ``text`` redacted (see :func:`redact_url`)."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_MENTION = re.compile(r"(?<![A-Za-z0-9_./@-])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?![A-Za-z0-9_/-]|\.[A-Za-z])")
_MERGE_FROM = re.compile(r"^(Merge pull request #\d+) from \S+")
PERSON_MASK = "(someone)"


def redact_people(text: str) -> str:
    """``text`` (a commit subject, a PR title) with what could name a person removed, for blameless outputs:
    e-mail addresses and ``@login`` mentions become ``(someone)``, and ``Merge pull request #12 from
    login/branch`` loses its ``from ...`` part. Everything else is kept (``fix(api): handle 404`` is unchanged).

    >>> redact_people("fix: thanks @octocat, see dev@example.com")
    'fix: thanks (someone), see (someone)'
    """
    if "@" not in text and " from " not in text:  # the common case (every pattern needs one): no regex at all
        return text
    text = _MERGE_FROM.sub(r"\1", text)
    if "@" not in text:
        return text
    text = _EMAIL.sub(PERSON_MASK, text)
    return _MENTION.sub(PERSON_MASK, text)


def has_credentials(url: str) -> bool:
    """True when ``url`` carries a ``user[:password]@`` part."""
    return _USERINFO.search(url) is not None


__all__ = ["MASK", "PERSON_MASK", "has_credentials", "redact_people", "redact_text", "redact_url"]
