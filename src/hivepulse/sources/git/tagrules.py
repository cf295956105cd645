"""Which tag names are releases: the default release rule, and the version classification that keeps
pre-releases and branch-like tags out of every tag rule (rules: ``docs/git-source.md``, "Tag rules").

No numpy or pandas here (the command line imports it through :mod:`.options`).

- **Default rule** (:data:`DEFAULT_TAG_REGEX`, the whole tag name): ``X.Y``, ``X.Y.Z`` or ``X.Y.Z.W`` with an
  optional ``v``, PEP 440 final releases (an optional epoch ``N!``, a post-release ``.postN``), and the hotfix
  suffix ``-hotfix...``: ``1.0``, ``v2.45.1``, ``1.5.4.1``, ``1!2.0``, ``2.0.post1``, ``v1.2.4-hotfix.1``.
- :func:`classify` finds the version in any tag name (``v1.2.3``, ``pkg@1.2.3``, ``@scope/pkg@1.2.3``,
  ``pkg/v1.2.3``, ``pkg-v1.2.3``) and says whether it is a **pre-release** (``-rc1``, ``a1``, ``b2``, ``rc1``,
  ``.dev1``, ``-beta.2``, ``-next.0``, ...) or **branch-like** (``1.0.x``, ``v2.x``). Tags matched by a glob or a
  regex are dropped when they are pre-releases (unless ``--include-prereleases``) or branch-like (always).
"""

from __future__ import annotations

import re
from typing import Literal

DEFAULT_TAG_REGEX = (
    r"v?(?:[0-9]{1,9}!)?[0-9]{1,9}(?:\.[0-9]{1,9}){1,3}(?:[-_.]?post[0-9]{0,9}|[-_.+]?hotfix[0-9A-Za-z._-]*)?"
)
"""Default deployment tags (the whole tag name): two- to four-part release numbers with an optional ``v``, a
PEP 440 epoch or post-release, or a hotfix suffix. Pre-releases and other suffixes are not deployments."""

PRERELEASE_WORDS = ("a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "dev", "next", "canary", "nightly",
                    "snapshot", "insiders", "experimental", "edge", "unstable")  # fmt: skip
"""Words that make a version a pre-release when they follow its number (case-insensitive; PEP 440 ``a``, ``b``,
``c``, ``rc``, ``.dev``; semantic-versioning channels such as ``-beta.2``, ``-next.0``, ``-canary``)."""

_VERSION = re.compile(r"(?<![0-9A-Za-z.])[vV]?[0-9]{1,9}(?:\.[0-9]{1,9})+")
_BRANCH_LIKE = re.compile(r"(?<![0-9A-Za-z.])[vV]?[0-9]{1,9}(?:\.[0-9]{1,9})*\.[xX*](?![0-9A-Za-z])")
_PRERELEASE_SUFFIX = re.compile(
    r"[-_.+]?(?:" + "|".join(sorted(PRERELEASE_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])|[-_.]?M[0-9]",
    re.IGNORECASE,
)
_BUILD_OR_FINAL = re.compile(r"\+|[-_.]?(?:post|hotfix|final|ga|release)(?![A-Za-z])", re.IGNORECASE)

Kind = Literal["final", "prerelease", "branch"]


def classify(name: str) -> Kind | None:
    """``final``, ``prerelease`` or ``branch`` for a tag name holding a version number, None otherwise.

    The version is the last ``N.N[.N...]`` in the name not glued to a letter or digit before it (``pkg@1.2.3``,
    ``pkg-v1.2.3``, ``pkg/v1.2.3``); what follows it decides: a pre-release word (``rc1``, ``-beta.2``, ``a1``,
    ``.dev0``, ``-M2``) -> ``prerelease``; ``.x`` -> ``branch``; anything else (nothing, ``-hotfix``,
    ``.post1``, ``+build.5``, ``-lts``) -> ``final``. A name without such a number (``latest``,
    ``deploy/staging/42``, ``release-2024``) -> None."""
    if _BRANCH_LIKE.search(name):
        return "branch"
    found = list(_VERSION.finditer(name))
    if not found:
        return None
    tail = name[found[-1].end() :]
    if not tail or _BUILD_OR_FINAL.match(tail):
        return "final"
    if _PRERELEASE_SUFFIX.match(tail):
        return "prerelease"
    return "final"


def left_out_note(prereleases: list[str], branches: list[str], others: list[str], *, include_prereleases: bool
                  ) -> str | None:  # fmt: skip
    """The data-quality note naming the version-like tags that are not deployments (None when there are none)."""
    parts = []

    def shown(names: list[str]) -> str:
        return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")

    if prereleases and not include_prereleases:
        parts.append(f"{len(prereleases)} pre-release(s) ({shown(prereleases)}; --include-prereleases counts them)")
    if branches:
        parts.append(f"{len(branches)} branch-like tag(s) ({shown(branches)}; never deployments)")
    if others:
        parts.append(f"{len(others)} other version-like tag(s) that match no tag rule ({shown(others)})")
    if not parts:
        return None
    total = len(branches) + len(others) + (0 if include_prereleases else len(prereleases))
    return f"{total} version-like tag(s) are not deployments: " + "; ".join(parts) + "."
